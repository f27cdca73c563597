// The serving engine behind the gRPC front end: one Backend and one
// EngineLoop, owned by one engine thread (the loop is not thread-safe). Other
// threads hand it requests and cancellations through a mutex-protected inbox
// and wake it with a condition variable; outputs come back through each
// request's callback, on the engine thread, which must not block.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "engine/backend.h"
#include "engine/model_loader.h"
#include "engine/sampling_params.h"
#include "scheduler/engine_loop.h"
#include "scheduler/scheduler_config.h"

namespace switchyard::server {

struct EngineServiceConfig {
  engine::ModelSource model;
  std::string backend = "auto";
  engine::KvCacheConfig kv_cache;
  scheduler::SchedulerConfig scheduler;

  absl::Status Validate() const;
};

// One event of a request. Every accepted request gets tokens, then exactly one
// terminal event: a finish, or a non-OK `error` (the loop refused it, e.g.
// UNAVAILABLE for a full queue, or the engine failed or shut down).
struct EngineOutput {
  scheduler::RequestOutput output;
  absl::Status error;
  absl::Time taken;  // when the engine thread took the request from the inbox
};
using EngineOutputFn = std::function<void(const EngineOutput&)>;

// The engine's counters after its last step, for GetModelInfo and metrics.
struct EngineSnapshot {
  scheduler::SchedulerStats scheduler;
  std::vector<int64_t> expert_tokens;  // [layer * num_experts + expert], since start
  std::vector<int32_t> last_step_expert_tokens;  // the same, in the last step
  int64_t num_steps = 0;
  int64_t num_generated_tokens = 0;
};

struct EngineSubmission {
  std::vector<int32_t> prompt_ids;
  engine::SamplingParams sampling;
  absl::Time deadline = absl::InfiniteFuture();
  scheduler::StopStringMatcher stop_strings;  // runs on the engine thread
  EngineOutputFn on_output;                   // runs on the engine thread; must not block
};

class EngineService {
 public:
  // Loads the model, runs one warm-up step (so the first request does not pay
  // for lazy initialisation) and starts the engine thread.
  static absl::StatusOr<std::unique_ptr<EngineService>> Start(const EngineServiceConfig& config);
  ~EngineService();  // Shutdown()

  // Thread-safe. The id is for Cancel. UNAVAILABLE once StopAccepting() was
  // called or the engine failed; then `on_output` is never called.
  absl::StatusOr<scheduler::RequestId> Submit(EngineSubmission submission);
  // Thread-safe. The request ends with kCancelled within one step and its KV
  // blocks are freed; unknown or finished ids are ignored.
  void Cancel(scheduler::RequestId id);

  // Thread-safe: Submit answers UNAVAILABLE from now on (draining).
  void StopAccepting();
  // Waits until no accepted request is live or `deadline` passes; true if idle.
  bool WaitIdle(absl::Time deadline);
  // Stops accepting, cancels whatever is live, delivers its terminal events
  // and joins the engine thread. Idempotent.
  void Shutdown();

  // Thread-safe.
  EngineSnapshot snapshot() const;
  // Immutable after Start, so readable from any thread.
  const engine::ModelConfig& model_config() const { return backend_->config(); }
  std::string_view backend_name() const { return backend_->name(); }
  engine::MemoryReport memory() const { return memory_; }
  int32_t kv_block_size() const { return backend_->kv_block_size(); }

 private:
  struct Pending {
    scheduler::RequestId id;
    EngineSubmission submission;
  };
  struct Live {
    EngineOutputFn on_output;
    absl::Time taken;
  };

  EngineService(std::unique_ptr<engine::Backend> backend, std::unique_ptr<scheduler::EngineLoop> loop);
  void Run();  // the engine thread
  void Admit(Pending pending, absl::Time now);
  void Deliver(scheduler::RequestId id, const scheduler::RequestOutput& output);
  // After a failed step: ends every request with the error, refuses new
  // ones, and returns once Shutdown is called.
  void FailForGood(const absl::Status& step_error);
  void Ended();  // one accepted request reached its terminal event
  void Publish();  // snapshot_ from the loop

  std::unique_ptr<engine::Backend> backend_;
  engine::MemoryReport memory_;

  // Engine thread only.
  std::unique_ptr<scheduler::EngineLoop> loop_;
  absl::flat_hash_map<scheduler::RequestId, Live> live_;

  mutable std::mutex mu_;
  std::condition_variable wake_;  // the engine thread: work, cancels or stop
  std::condition_variable idle_;  // WaitIdle: an accepted request ended
  std::vector<Pending> inbox_;
  std::vector<scheduler::RequestId> cancels_;
  bool accepting_ = true;
  bool stop_ = false;
  int64_t num_accepted_live_ = 0;  // submitted and not yet at their terminal event
  scheduler::RequestId next_id_ = 1;
  EngineSnapshot snapshot_;

  std::thread thread_;
};

}  // namespace switchyard::server
