#include "server/service/health_watchdog.h"

#include "spdlog/spdlog.h"

namespace switchyard::server {

HealthWatchdog::HealthWatchdog(const EngineService& engine, absl::Duration stall_timeout, SetServingFn set_serving,
                               absl::Duration poll_interval)
    : engine_(engine),
      stall_timeout_(stall_timeout),
      poll_interval_(poll_interval),
      set_serving_(std::move(set_serving)) {
  set_serving_(false);
  thread_ = std::thread([this] { Run(); });
}

HealthWatchdog::~HealthWatchdog() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  stop_cv_.notify_all();
  thread_.join();
}

void HealthWatchdog::StartDraining() {
  std::lock_guard<std::mutex> lock(mu_);
  draining_ = true;
  if (serving_) spdlog::warn("health: NOT_SERVING (draining)");
  serving_ = false;
}

void HealthWatchdog::Update(bool serving, const char* why) {
  if (serving == serving_) return;
  serving_ = serving;
  set_serving_(serving);
  if (serving) {
    spdlog::info("health: SERVING");
  } else {
    spdlog::warn("health: NOT_SERVING ({})", why);
  }
}

void HealthWatchdog::Run() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    if (!draining_ && engine_.failed()) {
      Update(false, "the engine failed unrecoverably");  // for good: failed() never turns back
    } else if (!draining_ && engine_.loaded()) {
      const absl::Duration stalled = engine_.StalledFor(absl::Now());
      if (stalled >= stall_timeout_) {
        if (serving_) {
          spdlog::error("watchdog: the engine has had work but finished no step for {}",
                        absl::FormatDuration(stalled));
        }
        Update(false, "engine stalled");
      } else {
        Update(true, "");
      }
    }
    stop_cv_.wait_for(lock, absl::ToChronoNanoseconds(poll_interval_), [this] { return stop_; });
  }
}

}  // namespace switchyard::server
