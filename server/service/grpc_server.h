// The gRPC server around an EngineService: the Switchyard service, the
// KServe v2 / Triton inference service (inference.GRPCInferenceService) on
// the same port, standard grpc.health.v1 health checking, and server
// reflection (so grpcurl-style tools and Kubernetes gRPC probes work);
// plaintext, TLS or mutual TLS, and API keys if configured, for both
// services alike.
#pragma once

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "engine/tokenizer/tokenizer.h"
#include "grpcpp/grpcpp.h"
#include "server/service/engine_service.h"
#include "server/service/health_watchdog.h"
#include "server/service/kserve_service.h"
#include "server/service/metrics.h"
#include "server/service/server_credentials.h"
#include "server/service/switchyard_service.h"

namespace switchyard::server {

// Explicit transport limits, so that one client cannot hold a connection's
// resources without bound (gRPC's own defaults are unlimited streams and
// unchecked client pings):
struct GrpcLimits {
  // Request metadata (headers) larger than this fail that call with
  // RESOURCE_EXHAUSTED (gRPC 1.51 sometimes closes the connection too).
  int32_t max_metadata_bytes = 16 << 10;
  // Concurrent calls (HTTP/2 streams) on one connection; more wait for a
  // free stream on the client's side.
  int32_t max_concurrent_streams = 256;
  // The server pings an idle connection this often and drops it when no
  // answer comes within keepalive_timeout: a vanished client's calls are
  // then cancelled and their KV blocks freed.
  absl::Duration keepalive_time = absl::Minutes(1);
  absl::Duration keepalive_timeout = absl::Seconds(20);
  // Clients may ping (also without calls) at most this often; a client that
  // pings faster gets GOAWAY "too_many_pings" after max_ping_strikes pings.
  absl::Duration min_client_ping_interval = absl::Seconds(10);
  int32_t max_ping_strikes = 2;
  // A connection older than this is sent GOAWAY (its calls in flight go on
  // to the end), so that clients reconnect and re-resolve DNS: behind a
  // headless Service, new replicas then get traffic. Infinite: never.
  absl::Duration max_connection_age = absl::InfiniteDuration();

  absl::Status Validate() const;
};

struct GrpcServerConfig {
  // Loopback unless told otherwise: a container passes --host 0.0.0.0.
  std::string host = "127.0.0.1";
  int32_t port = 50051;  // 0: pick a free port (tests)
  // Larger requests are refused with RESOURCE_EXHAUSTED; also bounds replies.
  int32_t max_message_bytes = 4 << 20;
  GrpcLimits limits;
  std::string model_name;  // what requests may name in `model`
  TlsConfig tls;             // plaintext unless a certificate is given
  std::string api_key_file;  // keys the API requires (see api_keys.h); empty = none
  // Health turns NOT_SERVING when the engine has work but finishes no step
  // for this long (HealthWatchdog).
  absl::Duration watchdog_timeout = absl::Seconds(60);

  absl::Status Validate() const;
};

class GrpcServer {
 public:
  // Serves `engine` (started; health says NOT_SERVING and calls get
  // UNAVAILABLE until its model is loaded and warmed up) and its tokenizer;
  // with `metrics`, counts every call and the generations' latencies. All
  // three must outlive the server.
  static absl::StatusOr<std::unique_ptr<GrpcServer>> Start(const GrpcServerConfig& config, EngineService& engine,
                                                           const engine::Tokenizer& tokenizer,
                                                           Metrics* metrics = nullptr);
  ~GrpcServer();  // Shutdown(now)

  int port() const { return port_; }
  std::string address() const;

  // Whether health says SERVING (the watchdog turns it on within one poll of
  // the model being loaded).
  bool serving() const { return watchdog_->serving(); }
  // Health NOT_SERVING and new calls UNAVAILABLE at once; calls in flight go on.
  void StartDraining();
  // Waits until the generate calls in flight, of either service, are done
  // (their last message written; a ModelStreamInfer request counts alone);
  // false if `deadline` passed first.
  bool WaitForCalls(absl::Time deadline) { return service_->in_flight().WaitUntilNone(deadline); }
  // Stops the server: calls still in flight at `deadline` are cancelled.
  // Idempotent.
  void Shutdown(absl::Time deadline);

 private:
  GrpcServer(std::string host, std::unique_ptr<SwitchyardService> service, std::unique_ptr<KServeService> kserve);

  std::string host_;
  std::unique_ptr<SwitchyardService> service_;
  std::unique_ptr<KServeService> kserve_;  // shares service_'s calls in flight
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<HealthWatchdog> watchdog_;  // stopped before server_ goes
  int port_ = 0;
  bool shut_down_ = false;
};

}  // namespace switchyard::server
