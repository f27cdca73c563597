// The gRPC server around an EngineService: the Switchyard service, standard
// grpc.health.v1 health checking, and server reflection (so grpcurl-style
// tools and Kubernetes gRPC probes work); plaintext, TLS or mutual TLS, and
// API keys if configured.
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
#include "server/service/metrics.h"
#include "server/service/server_credentials.h"
#include "server/service/switchyard_service.h"

namespace switchyard::server {

struct GrpcServerConfig {
  std::string host = "0.0.0.0";
  int32_t port = 50051;  // 0: pick a free port (tests)
  // Larger requests are refused with RESOURCE_EXHAUSTED; also bounds replies.
  int32_t max_message_bytes = 4 << 20;
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

  // Health NOT_SERVING and new calls UNAVAILABLE at once; calls in flight go on.
  void StartDraining();
  // Waits until the generate calls in flight are done (their last message
  // written); false if `deadline` passed first.
  bool WaitForCalls(absl::Time deadline) { return service_->in_flight().WaitUntilNone(deadline); }
  // Stops the server: calls still in flight at `deadline` are cancelled.
  // Idempotent.
  void Shutdown(absl::Time deadline);

 private:
  GrpcServer(std::string host, std::unique_ptr<SwitchyardService> service);

  std::string host_;
  std::unique_ptr<SwitchyardService> service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<HealthWatchdog> watchdog_;  // stopped before server_ goes
  int port_ = 0;
  bool shut_down_ = false;
};

}  // namespace switchyard::server
