// `switchyard serve`: opens the port (health NOT_SERVING), loads the model,
// serves the gRPC API (health SERVING) until SIGTERM or SIGINT, then drains: health NOT_SERVING and new calls UNAVAILABLE at once,
// calls in flight finish for up to `drain_timeout`, the rest are cancelled.
// Prometheus metrics are served on their own port.
#pragma once

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "server/service/engine_service.h"
#include "server/service/grpc_server.h"

namespace switchyard::server {

struct ServeConfig {
  EngineServiceConfig service;  // the engine and its thread
  GrpcServerConfig grpc;
  int32_t metrics_port = 9090;  // Prometheus text on grpc.host:metrics_port/metrics; 0: none
  int32_t max_expert_series = 8192;  // MetricsConfig::max_expert_series
  absl::Duration drain_timeout = absl::Seconds(30);
  // How much nicer (lower CPU priority, 0..19) every thread but the engine's
  // runs: gRPC's threads, which accept, refuse and answer calls, the
  // metrics server, the watchdog. Where they share cores with the engine, a
  // storm of calls the server refuses then takes only the time the engine
  // leaves, and goodput holds under overload (bench/RESULTS.md, "Overload").
  int32_t request_threads_nice = 10;

  absl::Status Validate() const;
};

// Returns OK after a clean drain; an error if the server could not start.
absl::Status RunServe(const ServeConfig& config);

}  // namespace switchyard::server
