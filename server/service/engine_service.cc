#include "server/service/engine_service.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "engine/status_macros.h"
#include "spdlog/spdlog.h"

namespace switchyard::server {

absl::Status EngineServiceConfig::Validate() const {
  if (model.path.empty()) return absl::InvalidArgumentError("model path is empty");
  RETURN_IF_ERROR(kv_cache.Validate());
  return scheduler.Validate();
}

absl::StatusOr<std::unique_ptr<EngineService>> EngineService::Start(const EngineServiceConfig& config) {
  RETURN_IF_ERROR(config.Validate());
  ASSIGN_OR_RETURN(std::unique_ptr<engine::ModelWeights> weights, engine::LoadModel(config.model));
  ASSIGN_OR_RETURN(std::unique_ptr<engine::Backend> backend, engine::CreateBackend(config.backend));
  RETURN_IF_ERROR(backend->Load(std::move(weights), config.kv_cache));
  ASSIGN_OR_RETURN(std::unique_ptr<scheduler::EngineLoop> loop,
                   scheduler::EngineLoop::Create(*backend, config.scheduler));
  // Warm-up: one token of a one-token prompt, before any client waits on it.
  engine::SamplingParams greedy;
  greedy.temperature = 0;
  greedy.max_tokens = 1;
  scheduler::EngineRequest warm_up;
  warm_up.prompt_ids = {backend->config().bos_token_id.value_or(0)};
  warm_up.sampling = greedy;
  RETURN_IF_ERROR(loop->Submit(std::move(warm_up)));
  RETURN_IF_ERROR(loop->RunUntilIdle());
  return std::unique_ptr<EngineService>(new EngineService(std::move(backend), std::move(loop)));
}

EngineService::EngineService(std::unique_ptr<engine::Backend> backend, std::unique_ptr<scheduler::EngineLoop> loop)
    : backend_(std::move(backend)), memory_(backend_->memory()), loop_(std::move(loop)) {
  Publish();
  thread_ = std::thread([this] { Run(); });
}

EngineService::~EngineService() { Shutdown(); }

absl::StatusOr<scheduler::RequestId> EngineService::Submit(EngineSubmission submission) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!accepting_) return absl::UnavailableError("the server is shutting down");
  const scheduler::RequestId id = next_id_++;
  inbox_.push_back({id, std::move(submission)});
  ++num_accepted_live_;
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

EngineSnapshot EngineService::snapshot() const {
  std::lock_guard<std::mutex> lock(mu_);
  return snapshot_;
}

void EngineService::Publish() {
  EngineSnapshot s{loop_->scheduler().stats(),
                   {loop_->total_expert_tokens().begin(), loop_->total_expert_tokens().end()},
                   {loop_->last_step_expert_tokens().begin(), loop_->last_step_expert_tokens().end()},
                   loop_->num_steps(), loop_->num_generated_tokens()};
  std::lock_guard<std::mutex> lock(mu_);
  snapshot_ = std::move(s);
}

void EngineService::Run() {
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
    if (!loop_->idle()) {
      absl::StatusOr<bool> worked = loop_->Step();
      if (!worked.ok()) {
        FailForGood(worked.status());
        return;
      }
    }
    Publish();
    if (stop && loop_->idle()) return;
  }
}

namespace {

EngineOutput ErrorOutput(scheduler::RequestId id, absl::Status error, absl::Time taken) {
  return {{id, std::nullopt, std::nullopt}, std::move(error), taken};
}

}  // namespace

void EngineService::FailForGood(const absl::Status& step_error) {
  // The loop is unusable after a backend error: end every request with it,
  // accept no more, and wait for Shutdown.
  spdlog::error("engine step failed: {}", step_error.ToString());
  const absl::Status error = absl::InternalError(absl::StrCat("engine failure: ", step_error.message()));
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
  absl::Status st = loop_->Submit({id, std::move(s.prompt_ids), std::move(s.sampling), s.deadline,
                                   std::move(s.stop_strings),
                                   [this, id](const scheduler::RequestOutput& o) { Deliver(id, o); }});
  if (!st.ok()) {
    s.on_output(ErrorOutput(id, std::move(st), now));
    Ended();
    return;
  }
  live_.emplace(id, Live{std::move(s.on_output), now});
}

void EngineService::Deliver(scheduler::RequestId id, const scheduler::RequestOutput& output) {
  auto it = live_.find(id);
  it->second.on_output({output, absl::OkStatus(), it->second.taken});
  if (output.finish) {
    live_.erase(it);
    Ended();
  }
}

void EngineService::Ended() {
  std::lock_guard<std::mutex> lock(mu_);
  --num_accepted_live_;
  idle_.notify_all();
}

}  // namespace switchyard::server
