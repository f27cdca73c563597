// The serving engine behind the gRPC front end: one Backend and one
// EngineLoop, owned by one engine thread (the loop is not thread-safe). The
// thread first loads the model and runs a warm-up step, so a server can
// answer health checks (NOT_SERVING) while it loads. Other threads hand it
// requests and cancellations through a mutex-protected inbox and wake it with
// a condition variable; outputs come back through each request's callback,
// on the engine thread, which must not block.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "engine/backend.h"
#include "engine/backend_registry.h"
#include "engine/model_loader.h"
#include "engine/sampling_params.h"
#include "scheduler/engine_loop.h"
#include "scheduler/scheduler_config.h"
#include "server/engine_config.h"
#include "server/service/expert_load_window.h"
#include "server/service/histogram_counts.h"

namespace switchyard::server {

struct EngineServiceConfig {
  EngineConfig engine;
  // GetExpertLoad's recent counts and the imbalance gauges cover this long.
  absl::Duration expert_load_window = absl::Minutes(1);
  // Makes the backend named by engine.backend; tests wrap it to slow a backend down.
  BackendFactory create_backend = engine::CreateBackend;

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

// The engine's counters after its last step, for GetModelInfo, GetExpertLoad
// and metrics. All zero and empty until the model is loaded.
struct EngineSnapshot {
  scheduler::SchedulerStats scheduler;
  int32_t num_layers = 0;
  int32_t num_experts = 0;
  std::vector<int64_t> expert_tokens;  // [layer * num_experts + expert], since start
  std::vector<int64_t> recent_expert_tokens;     // the same, over the expert-load window
  std::vector<int32_t> last_step_expert_tokens;  // the same, in the last step
  absl::Duration expert_load_window;
  int64_t num_steps = 0;
  int64_t num_prompt_tokens = 0;  // of the requests accepted by the scheduler
  int64_t num_generated_tokens = 0;
  int64_t num_failed_steps = 0;  // steps the backend failed; their requests ended with INTERNAL
  HistogramCounts step_tokens;   // tokens (prefill chunks + decodes) per step
  HistogramCounts step_seconds;  // wall time of each step
};

struct EngineSubmission {
  std::vector<int32_t> prompt_ids;
  engine::SamplingParams sampling;
  absl::Time deadline = absl::InfiniteFuture();
  scheduler::StopStringMatcher stop_strings;  // runs on the engine thread
  bool return_routing = false;
  EngineOutputFn on_output;                   // runs on the engine thread; must not block
  std::string cache_salt;                     // scheduler::EngineRequest::cache_salt
};

class EngineService {
 public:
  // Starts the engine thread, which loads the model and runs one warm-up step
  // (so the first request does not pay for lazy initialisation) before it
  // serves; Submit answers UNAVAILABLE until then. Returns at once.
  static absl::StatusOr<std::unique_ptr<EngineService>> Start(const EngineServiceConfig& config);
  ~EngineService();  // Shutdown()

  // OK once the model is loaded and warmed up; the loading error if it
  // failed; DEADLINE_EXCEEDED if `deadline` passed first.
  absl::Status WaitUntilLoaded(absl::Time deadline = absl::InfiniteFuture()) const;
  // Whether WaitUntilLoaded would return OK now. The accessors below the
  // snapshot are valid only once this is true.
  bool loaded() const { return loaded_.load(std::memory_order_acquire); }
  // How long the engine has had work without finishing a step (the
  // watchdog's measure); zero while it has none.
  absl::Duration StalledFor(absl::Time now) const;
  // Whether the backend failed unrecoverably (engine::IsUnrecoverable): the
  // engine then ended every request and refuses new ones for good, and the
  // server reports NOT_SERVING. A step that fails recoverably only ends its
  // own requests (INTERNAL), is logged and counted (num_failed_steps), and
  // the engine goes on.
  bool failed() const { return failed_.load(std::memory_order_acquire); }

  // Thread-safe. The id is for Cancel. UNAVAILABLE before the model is
  // loaded, once StopAccepting() was called, once failed(), or when the
  // server is full (max_waiting requests wait beyond the running slots,
  // decided here without waking the engine thread); then `on_output` is
  // never called.
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
  // Immutable once loaded(), so readable from any thread.
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

  explicit EngineService(EngineServiceConfig config);
  absl::Status Load();  // on the engine thread, first
  void Run();           // the engine thread
  void Admit(Pending pending, absl::Time now);
  void Deliver(scheduler::RequestId id, const scheduler::RequestOutput& output);
  // After an unrecoverable backend error: ends every request with it,
  // refuses new ones, and returns once Shutdown is called.
  void FailForGood(const absl::Status& step_error);
  // After a failed load: refuses whatever was submitted meanwhile (nothing:
  // Submit refuses before loading ends) and waits for Shutdown.
  void FailToLoad(const absl::Status& load_error);
  void Ended();  // one accepted request reached its terminal event
  // snapshot_ from the loop; `step` is the duration of the forward step
  // this iteration ran, if it ran one.
  void Publish(std::optional<absl::Duration> step);

  const EngineServiceConfig config_;
  // Written by the engine thread before loaded_ is set; immutable after.
  std::unique_ptr<engine::Backend> backend_;
  engine::MemoryReport memory_;
  std::atomic<bool> loaded_{false};
  std::atomic<bool> failed_{false};

  // Engine thread only.
  std::unique_ptr<scheduler::EngineLoop> loop_;
  absl::flat_hash_map<scheduler::RequestId, Live> live_;

  mutable std::mutex mu_;
  std::condition_variable wake_;  // the engine thread: work, cancels or stop
  std::condition_variable idle_;  // WaitIdle: an accepted request ended
  mutable std::condition_variable load_done_;  // WaitUntilLoaded
  std::optional<absl::Status> load_status_;    // set when loading ends
  std::vector<Pending> inbox_;
  std::vector<scheduler::RequestId> cancels_;
  bool accepting_ = true;
  bool stop_ = false;
  int64_t num_accepted_live_ = 0;  // submitted and not yet at their terminal event
  scheduler::RequestId next_id_ = 1;
  absl::Time last_progress_;  // last step finished, or work arrived at an idle engine
  EngineSnapshot snapshot_;
  mutable std::optional<ExpertLoadWindow> window_;  // created at load

  std::thread thread_;
};

}  // namespace switchyard::server
