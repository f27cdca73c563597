#include "server/serve_command.h"

#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "server/generate_command.h"
#include "server/service/listen_address.h"
#include "server/service/metrics.h"
#include "spdlog/spdlog.h"

namespace switchyard::server {

absl::Status ServeConfig::Validate() const {
  RETURN_IF_ERROR(service.Validate());
  RETURN_IF_ERROR(grpc.Validate());
  if (metrics_port < 0 || metrics_port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("metrics_port is ", metrics_port, "; must be in [0, 65535]"));
  }
  if (max_expert_series < 0) {
    return absl::InvalidArgumentError(absl::StrCat("max_expert_series is ", max_expert_series, "; must be >= 0"));
  }
  if (request_threads_nice < 0 || request_threads_nice > 19) {
    return absl::InvalidArgumentError(
        absl::StrCat("request_threads_nice is ", request_threads_nice, "; must be in [0, 19]"));
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

  ASSIGN_OR_RETURN(std::unique_ptr<engine::Tokenizer> tokenizer, LoadTokenizer(config.service.engine.model.path));
  spdlog::info("loading {}", config.service.engine.model.path);
  ASSIGN_OR_RETURN(std::unique_ptr<EngineService> engine, EngineService::Start(config.service));
  // The engine thread (and the OpenMP threads it starts) keeps this
  // thread's priority; every thread started from here on (gRPC's, the
  // metrics server's, the watchdog) inherits the lower one. On Linux,
  // setpriority(PRIO_PROCESS, 0) sets the calling thread's nice alone.
  if (config.request_threads_nice > 0) {
    errno = 0;
    const int nice = getpriority(PRIO_PROCESS, 0);
    if (errno == 0 && setpriority(PRIO_PROCESS, 0, std::min(19, nice + config.request_threads_nice)) != 0) {
      spdlog::warn("cannot lower the request threads' priority: {}", std::strerror(errno));
    }
  }
  std::unique_ptr<Metrics> metrics;
  if (config.metrics_port != 0) {
    ASSIGN_OR_RETURN(metrics, Metrics::Start({absl::StrCat(config.grpc.host, ":", config.metrics_port),
                                              config.max_expert_series},
                                             *engine));
    spdlog::info("metrics on http://{}:{}/metrics", config.grpc.host, metrics->port());
  }
  // The port opens while the model loads, so that probes see NOT_SERVING
  // (and calls UNAVAILABLE) instead of a refused connection.
  ASSIGN_OR_RETURN(std::unique_ptr<GrpcServer> server,
                   GrpcServer::Start(config.grpc, *engine, *tokenizer, metrics.get()));
  spdlog::info("listening on {}; health NOT_SERVING until the model is loaded", server->address());
  int signal = 0;
  while (!engine->loaded() && signal == 0) {
    if (absl::Status loading = engine->WaitUntilLoaded(absl::Now() + absl::Milliseconds(100));
        !loading.ok() && !absl::IsDeadlineExceeded(loading)) {
      return loading;  // the server, metrics and engine shut down as they go out of scope
    }
    const timespec poll{0, 0};
    const int caught = sigtimedwait(&signals, nullptr, &poll);
    if (caught > 0) signal = caught;
  }
  // The "serving" line below tells clients and tests the server is ready:
  // health must say so too (the watchdog notices the load within one poll).
  for (int i = 0; i < 200 && signal == 0 && !server->serving(); ++i) {
    const timespec wait{0, 5'000'000};
    const int caught = sigtimedwait(&signals, nullptr, &wait);
    if (caught > 0) signal = caught;
  }
  if (signal == 0) {
    // Before the "serving" line, which tells the tests the server is ready.
    spdlog::info("security: {}; {}", config.grpc.tls.Describe(),
                 config.grpc.api_key_file.empty()
                     ? "no API keys"
                     : "API keys required (from " + config.grpc.api_key_file +
                           "; health checks, KServe's ServerLive and ServerReady, and reflection exempt)");
    if (std::optional<std::string> warning = OpenServerWarning(
            config.grpc.host, {.tls = config.grpc.tls.enabled(),
                               .client_certificates = !config.grpc.tls.client_ca_file.empty(),
                               .api_keys = !config.grpc.api_key_file.empty()})) {
      spdlog::warn("{}", *warning);
    }
    spdlog::info("serving model \"{}\" on {} ({} backend)", config.grpc.model_name, server->address(),
                 engine->backend_name());
    sigwait(&signals, &signal);
  }
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
