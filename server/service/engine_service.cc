#include "server/service/engine_service.h"

#include <pthread.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "spdlog/spdlog.h"

namespace switchyard::server {
namespace {

// Tokens per step: powers of two up to the largest sensible budget.
std::vector<double> StepTokenBuckets() {
  std::vector<double> b;
  for (double v = 1; v <= 16384; v *= 2) b.push_back(v);
  return b;
}

std::vector<double> StepSecondsBuckets() {
  return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

EngineOutput ErrorOutput(scheduler::RequestId id, absl::Status error, absl::Time taken) {
  return {{id, std::nullopt, std::nullopt, {}, 0, {}}, std::move(error), taken};
}

}  // namespace

absl::Status EngineServiceConfig::Validate() const {
  if (expert_load_window < absl::Seconds(1)) {
    return absl::InvalidArgumentError(absl::StrCat("expert_load_window is ", absl::FormatDuration(expert_load_window),
                                                   "; must be at least 1s"));
  }
  if (!create_backend) return absl::InvalidArgumentError("create_backend is empty");
  return engine.Validate();
}

absl::StatusOr<std::unique_ptr<EngineService>> EngineService::Start(const EngineServiceConfig& config) {
  RETURN_IF_ERROR(config.Validate());
  return std::unique_ptr<EngineService>(new EngineService(config));
}

EngineService::EngineService(EngineServiceConfig config) : config_(std::move(config)) {
  snapshot_.step_tokens = HistogramCounts(StepTokenBuckets());
  snapshot_.step_seconds = HistogramCounts(StepSecondsBuckets());
  snapshot_.expert_load_window = config_.expert_load_window;
  thread_ = std::thread([this] { Run(); });
}

EngineService::~EngineService() { Shutdown(); }

absl::Status EngineService::Load() {
  ASSIGN_OR_RETURN(std::unique_ptr<engine::Backend> backend, LoadBackend(config_.engine, config_.create_backend));
  spdlog::info("{} backend: KV cache of {} blocks of {} tokens, {} KiB each ({} tokens in all)", backend->name(),
               backend->num_kv_blocks(), backend->kv_block_size(), backend->kv_block_bytes() >> 10,
               int64_t{backend->num_kv_blocks()} * backend->kv_block_size());
  ASSIGN_OR_RETURN(std::unique_ptr<scheduler::EngineLoop> loop,
                   scheduler::EngineLoop::Create(*backend, config_.engine.scheduler));
  // Warm-up: one token of a one-token prompt, before any client waits on it.
  engine::SamplingParams greedy;
  greedy.temperature = 0;
  greedy.max_tokens = 1;
  scheduler::EngineRequest warm_up;
  warm_up.prompt_ids = {backend->config().bos_token_id.value_or(0)};
  warm_up.sampling = greedy;
  RETURN_IF_ERROR(loop->Submit(std::move(warm_up)));
  RETURN_IF_ERROR(loop->RunUntilIdle());

  const engine::ModelConfig& c = backend->config();
  memory_ = backend->memory();
  backend_ = std::move(backend);
  loop_ = std::move(loop);
  std::lock_guard<std::mutex> lock(mu_);
  window_.emplace(static_cast<size_t>(c.num_layers) * c.num_experts, config_.expert_load_window);
  // The warm-up's step, which the since-start counters hold too.
  window_->Add(absl::Now(), loop_->last_step_expert_tokens());
  snapshot_.num_layers = c.num_layers;
  snapshot_.num_experts = c.num_experts;
  return absl::OkStatus();
}

absl::Status EngineService::WaitUntilLoaded(absl::Time deadline) const {
  std::unique_lock<std::mutex> lock(mu_);
  if (!load_done_.wait_until(lock, absl::ToChronoTime(deadline), [this] { return load_status_.has_value(); })) {
    return absl::DeadlineExceededError("the model is still loading");
  }
  return *load_status_;
}

absl::StatusOr<scheduler::RequestId> EngineService::Submit(EngineSubmission submission) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!loaded()) return absl::UnavailableError("the model is still loading");
  if (failed()) return absl::UnavailableError("the engine failed and serves no more requests");
  if (!accepting_) return absl::UnavailableError("the server is shutting down");
  // The scheduler's overload rule (Scheduler::Submit: max_waiting requests
  // wait beyond the running slots), applied here on the caller's thread: a
  // refusal storm then never reaches the engine thread, whose time is the
  // goodput. Every live request is running or waiting (in the inbox too).
  const scheduler::SchedulerConfig& limits = config_.engine.scheduler;
  if (const int64_t waiting = num_accepted_live_ - limits.max_num_seqs; waiting >= limits.max_waiting) {
    return absl::UnavailableError(absl::StrCat("overloaded: ", waiting,
                                               " requests are waiting for a running slot (max_waiting); retry later"));
  }
  const scheduler::RequestId id = next_id_++;
  inbox_.push_back({id, std::move(submission)});
  // An idle engine's clock for the watchdog starts with its first work.
  if (num_accepted_live_++ == 0) last_progress_ = absl::Now();
  wake_.notify_one();
  return id;
}

void EngineService::Cancel(scheduler::RequestId id) {
  std::lock_guard<std::mutex> lock(mu_);
  cancels_.push_back(id);
  wake_.notify_one();
}

void EngineService::StopAccepting() {
  std::lock_guard<std::mutex> lock(mu_);
  accepting_ = false;
}

bool EngineService::WaitIdle(absl::Time deadline) {
  std::unique_lock<std::mutex> lock(mu_);
  return idle_.wait_until(lock, absl::ToChronoTime(deadline), [this] { return num_accepted_live_ == 0; });
}

void EngineService::Shutdown() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    accepting_ = false;
    stop_ = true;
    wake_.notify_one();
  }
  if (thread_.joinable()) thread_.join();
}

absl::Duration EngineService::StalledFor(absl::Time now) const {
  std::lock_guard<std::mutex> lock(mu_);
  if (num_accepted_live_ == 0) return absl::ZeroDuration();
  return std::max(now - last_progress_, absl::ZeroDuration());
}

EngineSnapshot EngineService::snapshot() const {
  std::lock_guard<std::mutex> lock(mu_);
  EngineSnapshot s = snapshot_;
  if (window_) {
    absl::Span<const int64_t> recent = window_->Sum(absl::Now());
    s.recent_expert_tokens.assign(recent.begin(), recent.end());
  }
  return s;
}

void EngineService::Publish(std::optional<absl::Duration> step) {
  const absl::Time now = absl::Now();
  std::lock_guard<std::mutex> lock(mu_);
  EngineSnapshot& s = snapshot_;
  s.scheduler = loop_->scheduler().stats();
  s.expert_tokens.assign(loop_->total_expert_tokens().begin(), loop_->total_expert_tokens().end());
  s.last_step_expert_tokens.assign(loop_->last_step_expert_tokens().begin(), loop_->last_step_expert_tokens().end());
  s.num_steps = loop_->num_steps();
  s.num_generated_tokens = loop_->num_generated_tokens();
  s.num_failed_steps = loop_->num_failed_steps();
  if (step) {
    s.step_tokens.Observe(loop_->last_step_num_tokens());
    s.step_seconds.Observe(absl::ToDoubleSeconds(*step));
    window_->Add(now, loop_->last_step_expert_tokens());
  }
  last_progress_ = now;
}

void EngineService::Run() {
  // Named for top -H and /proc: the thread whose time is the goodput.
  pthread_setname_np(pthread_self(), "sy-engine");
  const absl::Status loaded = Load();
  {
    std::lock_guard<std::mutex> lock(mu_);
    load_status_ = loaded;
    if (loaded.ok()) loaded_.store(true, std::memory_order_release);
  }
  load_done_.notify_all();
  if (!loaded.ok()) {
    FailToLoad(loaded);
    return;
  }
  Publish(std::nullopt);
  for (;;) {
    std::vector<Pending> inbox;
    std::vector<scheduler::RequestId> cancels;
    bool stop = false;
    {
      std::unique_lock<std::mutex> lock(mu_);
      wake_.wait(lock, [this] { return stop_ || !inbox_.empty() || !cancels_.empty() || !loop_->idle(); });
      inbox.swap(inbox_);
      cancels.swap(cancels_);
      stop = stop_;
    }
    const absl::Time now = absl::Now();
    // Submissions before cancellations: a request is always in the inbox
    // before its cancellation.
    for (Pending& p : inbox) Admit(std::move(p), now);
    for (scheduler::RequestId id : cancels) loop_->Cancel(id).IgnoreError();
    if (stop) {
      for (const auto& [id, live] : live_) loop_->Cancel(id).IgnoreError();
    }
    std::optional<absl::Duration> step;
    if (!loop_->idle()) {
      const int64_t steps = loop_->num_steps();
      const int64_t failed_steps = loop_->num_failed_steps();
      const absl::Time start = absl::Now();
      absl::StatusOr<bool> worked = loop_->Step();
      if (!worked.ok()) {
        FailForGood(worked.status());
        return;
      }
      if (loop_->num_failed_steps() != failed_steps) {
        spdlog::error("engine step failed; its requests end with INTERNAL and the engine goes on: {}",
                      loop_->last_step_error().ToString());
      }
      if (loop_->num_steps() != steps) step = absl::Now() - start;
    }
    Publish(step);
    if (stop && loop_->idle()) return;
  }
}

void EngineService::FailToLoad(const absl::Status& load_error) {
  spdlog::error("loading the model failed: {}", load_error.ToString());
  std::unique_lock<std::mutex> lock(mu_);
  accepting_ = false;
  wake_.wait(lock, [this] { return stop_; });
}

void EngineService::FailForGood(const absl::Status& step_error) {
  // The backend is unusable: end every request with its error, accept no
  // more (health turns NOT_SERVING), and wait for Shutdown.
  failed_.store(true, std::memory_order_release);
  spdlog::critical("engine step failed unrecoverably; the engine stops serving: {}", step_error.ToString());
  const absl::Status error = absl::InternalError(
      absl::StrCat("the engine step failed and the backend cannot go on: ", step_error.message()));
  for (auto& [id, live] : live_) {
    live.on_output(ErrorOutput(id, error, live.taken));
    Ended();
  }
  live_.clear();
  std::vector<Pending> refused;
  {
    std::lock_guard<std::mutex> lock(mu_);
    accepting_ = false;
    refused.swap(inbox_);
  }
  const absl::Time now = absl::Now();
  for (Pending& p : refused) {
    p.submission.on_output(ErrorOutput(p.id, error, now));
    Ended();
  }
  std::unique_lock<std::mutex> lock(mu_);
  wake_.wait(lock, [this] { return stop_; });
}

void EngineService::Admit(Pending p, absl::Time now) {
  const scheduler::RequestId id = p.id;
  EngineSubmission& s = p.submission;
  const int64_t prompt_tokens = static_cast<int64_t>(s.prompt_ids.size());
  absl::Status st = loop_->Submit({id, std::move(s.prompt_ids), std::move(s.sampling), s.deadline,
                                   std::move(s.stop_strings),
                                   [this, id](const scheduler::RequestOutput& o) { Deliver(id, o); },
                                   s.return_routing, std::move(s.cache_salt)});
  if (!st.ok()) {
    s.on_output(ErrorOutput(id, std::move(st), now));
    Ended();
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    snapshot_.num_prompt_tokens += prompt_tokens;
  }
  live_.emplace(id, Live{std::move(s.on_output), now});
}

void EngineService::Deliver(scheduler::RequestId id, const scheduler::RequestOutput& output) {
  auto it = live_.find(id);
  // A request whose step failed gets its error as its terminal event.
  const bool terminal = output.finish || !output.error.ok();
  // Counted as ended before its client can hear of it: a closed-loop client
  // sends its next request as soon as this one's end reaches it, and that
  // request must not be refused for a slot this one still seemed to hold.
  if (terminal) Ended();
  it->second.on_output({output, output.error, it->second.taken});
  if (terminal) live_.erase(it);
}

void EngineService::Ended() {
  std::lock_guard<std::mutex> lock(mu_);
  --num_accepted_live_;
  idle_.notify_all();
}

}  // namespace switchyard::server
