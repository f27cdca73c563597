// What one step runs, as planned by Scheduler::Step(), and its flat batch.
#pragma once

#include <cstdint>
#include <vector>

#include "engine/batch.h"
#include "scheduler/sequence.h"

namespace switchyard::scheduler {

struct ScheduledChunk {
  // Owned by the scheduler; valid until the Update() of this plan.
  const Sequence* seq = nullptr;
  int32_t num_tokens = 0;  // tokens [num_cached, num_cached + num_tokens) of seq->tokens
  int32_t num_cached = 0;
  // The chunk reaches the sequence's last token, so its logits yield the next
  // token; a non-final prefill chunk only fills the cache.
  bool samples = false;
};

struct AbortedRequest {
  RequestId id = 0;
  FinishReason reason = FinishReason::kCancelled;  // kCancelled or kDeadlineExceeded
};

struct StepPlan {
  // Running sequences in admission order (oldest first), then those admitted
  // in this step.
  std::vector<ScheduledChunk> chunks;
  // Removed at this step boundary; their blocks are already free.
  std::vector<AbortedRequest> aborted;
  int32_t num_tokens = 0;     // sum of chunks' num_tokens
  int32_t num_preempted = 0;  // sequences preempted while planning this step
  bool empty() const { return chunks.empty(); }
};

// Fills `batch` (reusing its storage) with the plan's tokens; the slices point
// at the sequences' block tables, valid until the next Scheduler::Step().
void BuildBatch(const StepPlan& plan, engine::Batch& batch);

}  // namespace switchyard::scheduler
