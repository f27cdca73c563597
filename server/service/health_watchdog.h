// Keeps the gRPC health status true to the engine, for Kubernetes probes and
// load balancers: NOT_SERVING while the model loads, SERVING once it is
// loaded and warmed up, NOT_SERVING while the engine has work but has
// finished no step for `stall_timeout` (a hung device, a deadlock), SERVING
// again if it recovers, and NOT_SERVING for good once draining or once the
// engine failed unrecoverably (EngineService::failed). A thread of
// its own polls the engine, so a stuck engine thread cannot stop it.
#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

#include "absl/time/time.h"
#include "server/service/engine_service.h"

namespace switchyard::server {

class HealthWatchdog {
 public:
  using SetServingFn = std::function<void(bool serving)>;

  // Calls `set_serving(false)` at once, then on every change. `engine` must
  // outlive the watchdog.
  HealthWatchdog(const EngineService& engine, absl::Duration stall_timeout, SetServingFn set_serving,
                 absl::Duration poll_interval = absl::Milliseconds(50));
  ~HealthWatchdog();  // stops polling

  // Stops for good: no more changes are made. The caller turns health
  // NOT_SERVING itself (GrpcServer shuts the gRPC health service down, which
  // also happens at server shutdown), so that watchers see the change once.
  void StartDraining();

  // What it last set.
  bool serving() const {
    std::lock_guard<std::mutex> lock(mu_);
    return serving_;
  }

 private:
  void Run();
  void Update(bool serving, const char* why);  // under mu_

  const EngineService& engine_;
  const absl::Duration stall_timeout_;
  const absl::Duration poll_interval_;
  SetServingFn set_serving_;

  mutable std::mutex mu_;
  std::condition_variable stop_cv_;
  bool stop_ = false;
  bool draining_ = false;
  bool serving_ = false;
  std::thread thread_;
};

}  // namespace switchyard::server
