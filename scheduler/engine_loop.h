// The serving engine's loop: Scheduler::Step() plans a batch, the Backend runs
// it and samples each request's token (from the request's SamplingState), the
// stop conditions are checked, the scheduler records the outcome, and each
// request's callback hears of it.
// Synchronous: Step() runs one iteration and RunUntilIdle() drains the work;
// a server runs them on a thread of its own (all calls from that thread).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "engine/backend.h"
#include "engine/sampling_params.h"
#include "engine/sampling_state.h"
#include "scheduler/scheduler.h"

namespace switchyard::scheduler {

// What a request's callback receives: a token, an end, or both (the last
// token and its finish reason come together; a cancelled or expired request
// gets only the reason), or a failure: a request whose step failed, or whose
// logits held a NaN or +inf, gets only `error` (INTERNAL), its last event.
struct RequestOutput {
  RequestId id = 0;
  std::optional<engine::SampleResult> token;
  std::optional<FinishReason> finish;
  // With the token, when the request asked for it: [num_layers, top_k], the
  // experts that computed the token in every layer (-1 in dense layers).
  std::vector<int32_t> routed_experts;
  // With every token: how many prompt tokens' KV came from the prefix cache
  // when the request was (last) admitted, not computed.
  int32_t cached_prompt_tokens = 0;
  absl::Status error;
};
using OutputCallback = std::function<void(const RequestOutput&)>;

// The stop-string hook: given the tokens generated so far (the newest last),
// says whether their text now contains one of the request's stop strings. A
// server builds it from the model's detokenizer; requests without stop
// strings leave it empty.
using StopStringMatcher = std::function<bool(absl::Span<const int32_t> generated)>;

struct EngineRequest {
  RequestId id = 0;
  std::vector<int32_t> prompt_ids;
  engine::SamplingParams sampling;  // max_tokens, stop ids and ignore_eos included
  absl::Time deadline = absl::InfiniteFuture();
  StopStringMatcher stop_strings;
  OutputCallback on_output;  // called on the loop's thread; may Cancel or Submit
  bool return_routing = false;  // fill RequestOutput::routed_experts
  std::string cache_salt = {};  // SequenceRequest::cache_salt
};

class EngineLoop {
 public:
  // `backend` must be loaded and outlive the loop; the KV cache's shape and
  // the context length come from it. INVALID_ARGUMENT when the scheduler's
  // budget (max_num_batched_tokens, max_num_seqs) exceeds the backend's
  // step_capacity(), naming both numbers.
  static absl::StatusOr<std::unique_ptr<EngineLoop>> Create(engine::Backend& backend, const SchedulerConfig& config,
                                                            Clock clock = nullptr);

  // Scheduler::Submit's errors, plus INVALID_ARGUMENT for bad sampling
  // parameters or a prompt token outside the vocabulary.
  absl::Status Submit(EngineRequest request);
  absl::Status Cancel(RequestId id) { return scheduler_->Cancel(id); }

  // One iteration. False when there was nothing to do. When the backend
  // fails the step, the requests in it end with an INTERNAL error saying so
  // and why (and free their KV blocks), the failure is counted, and the loop
  // goes on: Step still returns true. Only an error the backend marked
  // unrecoverable (engine::IsUnrecoverable) is returned, as is, and leaves
  // the loop unusable.
  absl::StatusOr<bool> Step();
  // Steps until idle; also returns the error of a step that failed.
  absl::Status RunUntilIdle();

  bool idle() const { return scheduler_->idle(); }
  const Scheduler& scheduler() const { return *scheduler_; }
  // [num_layers * num_experts] tokens routed to each expert: in the last step,
  // and summed over every step so far (for metrics).
  absl::Span<const int32_t> last_step_expert_tokens() const { return last_expert_tokens_; }
  absl::Span<const int64_t> total_expert_tokens() const { return total_expert_tokens_; }
  int64_t num_steps() const { return num_steps_; }
  int32_t last_step_num_tokens() const { return static_cast<int32_t>(batch_.token_ids.size()); }
  int64_t num_generated_tokens() const { return num_generated_tokens_; }
  // Requests ended alone because their logits held a NaN or +inf.
  int64_t num_failed_requests() const { return num_failed_requests_; }
  // Steps the backend failed (recoverably), and the last one's error.
  int64_t num_failed_steps() const { return num_failed_steps_; }
  const absl::Status& last_step_error() const { return last_step_error_; }

 private:
  struct Live {
    Live(EngineRequest r) : request(std::move(r)), sampling(request.sampling, request.prompt_ids) {}
    EngineRequest request;  // its prompt moved to the scheduler once `sampling` has read it
    engine::SamplingState sampling;
    std::vector<int32_t> generated;
  };

  EngineLoop(engine::Backend& backend, std::unique_ptr<Scheduler> scheduler);
  std::optional<FinishReason> StopReason(const Live& live, int32_t token) const;

  engine::Backend& backend_;
  std::unique_ptr<Scheduler> scheduler_;
  absl::flat_hash_map<RequestId, std::unique_ptr<Live>> live_;
  engine::Batch batch_;  // reused across steps
  std::vector<int32_t> last_expert_tokens_;
  std::vector<int64_t> total_expert_tokens_;
  int64_t num_steps_ = 0;
  int64_t num_generated_tokens_ = 0;
  int64_t num_failed_steps_ = 0;
  int64_t num_failed_requests_ = 0;
  absl::Status last_step_error_;
};

}  // namespace switchyard::scheduler
