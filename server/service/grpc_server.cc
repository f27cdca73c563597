#include "server/service/grpc_server.h"

#include "absl/strings/str_cat.h"
#include "engine/status_macros.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/health_check_service_interface.h"
#include "server/service/call_metrics_interceptor.h"

namespace switchyard::server {
namespace {

// The health service answers for the whole server ("") and for the API.
constexpr const char* kServiceName = "switchyard.v1.Switchyard";

void SetServing(grpc::Server& server, bool serving) {
  grpc::HealthCheckServiceInterface* health = server.GetHealthCheckService();
  health->SetServingStatus(serving);
  health->SetServingStatus(kServiceName, serving);
}

}  // namespace

absl::Status GrpcServerConfig::Validate() const {
  if (port < 0 || port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("port is ", port, "; must be in [0, 65535]"));
  }
  if (max_message_bytes < 1024) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_message_bytes is ", max_message_bytes, "; must be in [1024, 2147483647]"));
  }
  if (host.empty()) return absl::InvalidArgumentError("host is empty");
  if (watchdog_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("watchdog_timeout is ", absl::FormatDuration(watchdog_timeout), "; must be > 0"));
  }
  // The files are read here too, so that a wrong path fails before the model loads.
  if (!api_key_file.empty()) RETURN_IF_ERROR(ApiKeys::LoadFile(api_key_file).status());
  return tls.Validate();
}

absl::StatusOr<std::unique_ptr<GrpcServer>> GrpcServer::Start(const GrpcServerConfig& config, EngineService& engine,
                                                              const engine::Tokenizer& tokenizer, Metrics* metrics) {
  if (absl::Status st = config.Validate(); !st.ok()) return st;
  ASSIGN_OR_RETURN(std::shared_ptr<grpc::ServerCredentials> credentials, BuildServerCredentials(config.tls));
  std::optional<ApiKeys> api_keys;
  if (!config.api_key_file.empty()) {
    ASSIGN_OR_RETURN(api_keys, ApiKeys::LoadFile(config.api_key_file));
  }
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  std::unique_ptr<GrpcServer> server(new GrpcServer(
      config.host,
      std::make_unique<SwitchyardService>(engine, tokenizer, config.model_name, metrics, std::move(api_keys))));
  grpc::ServerBuilder builder;
  builder.AddListeningPort(absl::StrCat(config.host, ":", config.port), credentials, &server->port_);
  builder.SetMaxReceiveMessageSize(config.max_message_bytes);
  builder.SetMaxSendMessageSize(config.max_message_bytes);
  builder.RegisterService(server->service_.get());
  if (metrics != nullptr) {
    std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> interceptors;
    interceptors.push_back(CallMetricsInterceptorFactory(*metrics));
    builder.experimental().SetInterceptorCreators(std::move(interceptors));
  }
  server->server_ = builder.BuildAndStart();
  if (server->server_ == nullptr || server->port_ == 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", config.host, ":", config.port));
  }
  grpc::Server* grpc_server = server->server_.get();
  server->watchdog_ = std::make_unique<HealthWatchdog>(
      engine, config.watchdog_timeout, [grpc_server](bool serving) { SetServing(*grpc_server, serving); });
  return server;
}

GrpcServer::GrpcServer(std::string host, std::unique_ptr<SwitchyardService> service)
    : host_(std::move(host)), service_(std::move(service)) {}

GrpcServer::~GrpcServer() { Shutdown(absl::Now()); }

std::string GrpcServer::address() const { return absl::StrCat(host_, ":", port_); }

void GrpcServer::StartDraining() {
  service_->StartDraining();
  if (watchdog_) watchdog_->StartDraining();
}

void GrpcServer::Shutdown(absl::Time deadline) {
  if (shut_down_ || server_ == nullptr) return;
  shut_down_ = true;
  StartDraining();
  server_->Shutdown(absl::ToChronoTime(deadline));
  server_->Wait();
}

}  // namespace switchyard::server
