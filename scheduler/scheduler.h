// Continuous batching (nano-vllm's step(), vLLM v1's policy): the scheduler
// plans a step, the caller runs it on a backend and reports the sampled tokens
// back with Update(). Requests join and leave between steps.
//
// Policy of Step():
//   1. Cancelled requests and those past their deadline are removed and their
//      blocks freed.
//   2. Running sequences, oldest admission first, each get their tokens:
//      one for a decode, and for a sequence still prefilling a chunk of what
//      is left of the token budget once every decode has been counted. So
//      decodes keep a steady pace while a long prompt spans several steps.
//      When the KV cache cannot hold a sequence's tokens, the most recently
//      admitted running sequence is preempted (its blocks freed, itself put
//      at the front of the waiting queue to recompute prompt and generated
//      tokens later) until it can; the oldest sequences always progress.
//   3. If nothing was preempted, waiting requests are admitted in order
//      (first come, first served) while the sequence and token budgets and
//      the free blocks allow, each with as much of its prompt as fits.
//      With prefix caching, an admitted sequence first takes the longest
//      cached prefix of its tokens (full blocks, the last token excluded):
//      those count as computed, and only the rest is prefilled. Full blocks
//      join the cache as soon as Update finds them computed.
//
// Not thread-safe: one thread (the engine loop's) calls every method.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "scheduler/block_manager.h"
#include "scheduler/scheduler_config.h"
#include "scheduler/sequence.h"
#include "scheduler/step_plan.h"

namespace switchyard::scheduler {

// Injectable so that tests can move time by hand.
using Clock = std::function<absl::Time()>;

// The token a sampling chunk produced, and whether the caller's stop
// conditions ended the sequence with it.
struct SampledToken {
  int32_t token = 0;
  bool finished = false;
};

struct SchedulerStats {
  int32_t num_running = 0;
  int32_t num_waiting = 0;
  int32_t num_free_blocks = 0;
  int32_t num_blocks = 0;
  double kv_usage = 0;          // used / total blocks
  int64_t num_preemptions = 0;  // since construction
  // Prefix caching, since construction: tokens looked up at admission
  // (every token but the last of each admitted sequence) and how many of
  // them were found cached, so that a hit rate is hits / queries.
  int64_t prefix_cache_queries = 0;
  int64_t prefix_cache_hits = 0;
  int32_t num_cached_blocks = 0;     // blocks holding a cached prefix, in use or not
  int32_t num_evictable_blocks = 0;  // cached blocks no sequence uses: free, reused last
};

class Scheduler {
 public:
  // `max_model_len`: the most positions a sequence may have (the model's
  // context length). A null clock means absl::Now.
  static absl::StatusOr<std::unique_ptr<Scheduler>> Create(const SchedulerConfig& config, KvCacheShape kv,
                                                           int32_t max_model_len, Clock clock = nullptr);

  // Queues a request. INVALID_ARGUMENT: empty prompt, duplicate live id, or
  // prompt + max_tokens beyond the context length; RESOURCE_EXHAUSTED: its
  // prompt + max_tokens can never fit the whole KV cache; UNAVAILABLE
  // ("overloaded"): max_waiting requests really wait already, try again
  // later. Queued requests that the running slots free now will take at the
  // next step do not count (see num_really_waiting).
  absl::Status Submit(SequenceRequest request);
  // Marks a live request; it leaves at the next Step(), reported in its plan.
  // NOT_FOUND if no live request has this id.
  absl::Status Cancel(RequestId id);

  // Plans the next step (see the policy above). An empty plan with nothing
  // aborted means there is no work.
  StepPlan Step();
  // Records the outcome of `plan`, the last plan Step() returned: every chunk
  // is now in the KV cache, and `sampled` holds, in plan order, one entry per
  // chunk that samples. Finished sequences leave and free their blocks.
  void Update(const StepPlan& plan, absl::Span<const SampledToken> sampled);
  // Instead of Update, when running `plan` failed: every sequence in it
  // leaves and frees its blocks (what the step wrote there is garbage).
  // Returns their ids, in plan order. Requests outside the plan go on.
  std::vector<RequestId> FailStep(const StepPlan& plan);

  bool idle() const { return live_.empty(); }
  SchedulerStats stats() const;
  const SchedulerConfig& config() const { return config_; }
  const BlockManager& blocks() const { return blocks_; }

  // Checks the invariants, for tests: each block's reference count is the
  // number of live tables holding it, only cached prefix blocks are shared,
  // and a sequence writes only blocks of its own; no free block is in any
  // table; the block manager's own invariants hold;
  // running sequences have the blocks for their computed tokens; waiting ones
  // hold none; the running set is within max_num_seqs.
  absl::Status CheckInvariants() const;

 private:
  Scheduler(const SchedulerConfig& config, KvCacheShape kv, int32_t max_model_len, Clock clock);

  // Waiting requests beyond the running set's free slots: what max_waiting
  // bounds. A closed-loop client whose request just finished sends its next
  // one before the next step admits the queue's front into the freed slot,
  // so counting the whole queue would refuse requests below capacity.
  int64_t num_really_waiting() const;
  void RemoveAborted(StepPlan& plan);
  void Preempt(Sequence* seq);
  // Gives a waiting sequence its cached prefix and the blocks for its first
  // chunk of at most `prefill_budget` tokens; false (holding nothing) when
  // the free blocks do not suffice.
  bool Admit(Sequence* seq, int32_t prefill_budget);
  void Remove(Sequence* seq);  // frees its blocks and forgets it

  SchedulerConfig config_;
  BlockManager blocks_;
  int32_t max_model_len_;
  Clock clock_;
  absl::flat_hash_map<RequestId, std::unique_ptr<Sequence>> live_;  // waiting and running
  std::vector<Sequence*> running_;  // admission order, oldest first
  std::deque<Sequence*> waiting_;   // preempted ones at the front
  std::vector<Sequence*> scheduled_;  // the last plan's chunks' sequences, for Update
  int64_t num_preemptions_ = 0;
  int64_t prefix_cache_queries_ = 0;
  int64_t prefix_cache_hits_ = 0;
};

}  // namespace switchyard::scheduler
