#include "server/serve_command.h"

#include <pthread.h>
#include <signal.h>

#include <memory>

#include "absl/strings/str_cat.h"
#include "engine/status_macros.h"
#include "server/generate_command.h"
#include "server/service/metrics.h"
#include "spdlog/spdlog.h"

namespace switchyard::server {

absl::Status ServeConfig::Validate() const {
  RETURN_IF_ERROR(engine.Validate());
  RETURN_IF_ERROR(grpc.Validate());
  if (metrics_port < 0 || metrics_port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("metrics_port is ", metrics_port, "; must be in [0, 65535]"));
  }
  if (drain_timeout < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("drain_timeout is ", absl::FormatDuration(drain_timeout), "; must be >= 0"));
  }
  return absl::OkStatus();
}

absl::Status RunServe(const ServeConfig& config) {
  RETURN_IF_ERROR(config.Validate());
  // Blocked before any thread starts, so every thread inherits the mask and
  // the signals wait for sigwait below instead of killing the process.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  ASSIGN_OR_RETURN(std::unique_ptr<engine::Tokenizer> tokenizer, LoadTokenizer(config.engine.model.path));
  spdlog::info("loading {}", config.engine.model.path);
  ASSIGN_OR_RETURN(std::unique_ptr<EngineService> engine, EngineService::Start(config.engine));
  std::unique_ptr<Metrics> metrics;
  if (config.metrics_port != 0) {
    ASSIGN_OR_RETURN(metrics, Metrics::Start(absl::StrCat(config.grpc.host, ":", config.metrics_port), *engine));
    spdlog::info("metrics on http://{}:{}/metrics", config.grpc.host, metrics->port());
  }
  ASSIGN_OR_RETURN(std::unique_ptr<GrpcServer> server,
                   GrpcServer::Start(config.grpc, *engine, *tokenizer, metrics.get()));
  spdlog::info("serving model \"{}\" on {} ({} backend)", config.grpc.model_name, server->address(),
               engine->backend_name());

  int signal = 0;
  sigwait(&signals, &signal);
  spdlog::info("{}: draining for up to {}", signal == SIGTERM ? "SIGTERM" : "SIGINT",
               absl::FormatDuration(config.drain_timeout));
  server->StartDraining();
  engine->StopAccepting();
  if (!server->WaitForCalls(absl::Now() + config.drain_timeout)) {
    spdlog::warn("drain timeout: cancelling the calls still in flight");
  }
  server->Shutdown(absl::Now());  // cancels what is left; their reactors cancel in the engine
  engine->Shutdown();
  spdlog::info("stopped");
  return absl::OkStatus();
}

}  // namespace switchyard::server
