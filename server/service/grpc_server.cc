#include "server/service/grpc_server.h"

#include <algorithm>
#include <limits>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/health_check_service_interface.h"
#include "server/service/call_metrics_interceptor.h"
#include "server/service/unparsed_request_interceptor.h"

namespace switchyard::server {
namespace {

// The health service answers for the whole server ("") and for each API;
// KServe's ServerReady and ModelReady say the same.
constexpr const char* kServiceName = "switchyard.v1.Switchyard";
constexpr const char* kKServeServiceName = "inference.GRPCInferenceService";

void SetServing(grpc::Server& server, KServeService& kserve, bool serving) {
  grpc::HealthCheckServiceInterface* health = server.GetHealthCheckService();
  health->SetServingStatus(serving);
  health->SetServingStatus(kServiceName, serving);
  health->SetServingStatus(kKServeServiceName, serving);
  kserve.SetServing(serving);
}

int32_t Milliseconds(absl::Duration d) { return static_cast<int32_t>(absl::ToInt64Milliseconds(d)); }

}  // namespace

absl::Status GrpcLimits::Validate() const {
  if (max_metadata_bytes < 1024) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_metadata_bytes is ", max_metadata_bytes, "; must be in [1024, 2147483647]"));
  }
  if (max_concurrent_streams < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_concurrent_streams is ", max_concurrent_streams, "; must be in [1, 2147483647]"));
  }
  for (const auto& [name, value] : {std::pair{"keepalive_time", keepalive_time},
                                    {"keepalive_timeout", keepalive_timeout},
                                    {"min_client_ping_interval", min_client_ping_interval}}) {
    if (value <= absl::ZeroDuration() || value > absl::Hours(24 * 24)) {
      return absl::InvalidArgumentError(
          absl::StrCat(name, " is ", absl::FormatDuration(value), "; must be in (0, 576h]"));
    }
  }
  if (max_connection_age <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_connection_age is ", absl::FormatDuration(max_connection_age), "; must be > 0"));
  }
  if (max_ping_strikes < 0) {
    return absl::InvalidArgumentError(absl::StrCat("max_ping_strikes is ", max_ping_strikes, "; must be >= 0"));
  }
  return absl::OkStatus();
}

absl::Status GrpcServerConfig::Validate() const {
  if (port < 0 || port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("port is ", port, "; must be in [0, 65535]"));
  }
  if (max_message_bytes < 1024) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_message_bytes is ", max_message_bytes, "; must be in [1024, 2147483647]"));
  }
  if (host.empty()) return absl::InvalidArgumentError("host is empty");
  RETURN_IF_ERROR(limits.Validate());
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
  auto service = std::make_unique<SwitchyardService>(engine, tokenizer, config.model_name, metrics, api_keys);
  auto kserve = std::make_unique<KServeService>(engine, tokenizer, config.model_name, metrics, std::move(api_keys),
                                                service->in_flight());
  std::unique_ptr<GrpcServer> server(new GrpcServer(config.host, std::move(service), std::move(kserve)));
  grpc::ServerBuilder builder;
  builder.AddListeningPort(absl::StrCat(config.host, ":", config.port), credentials, &server->port_);
  builder.SetMaxReceiveMessageSize(config.max_message_bytes);
  builder.SetMaxSendMessageSize(config.max_message_bytes);
  const GrpcLimits& limits = config.limits;
  builder.AddChannelArgument(GRPC_ARG_MAX_METADATA_SIZE, limits.max_metadata_bytes);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, limits.max_concurrent_streams);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, Milliseconds(limits.keepalive_time));
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, Milliseconds(limits.keepalive_timeout));
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS,
                             Milliseconds(limits.min_client_ping_interval));
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PING_STRIKES, limits.max_ping_strikes);
  if (limits.max_connection_age != absl::InfiniteDuration()) {
    builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_MS,
                               static_cast<int32_t>(std::min<int64_t>(absl::ToInt64Milliseconds(limits.max_connection_age),
                                                                      std::numeric_limits<int32_t>::max())));
  }
  builder.RegisterService(server->service_.get());
  builder.RegisterService(server->kserve_.get());
  // In this order: the call metrics count the status the first one sends.
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> interceptors;
  interceptors.push_back(UnparsedRequestInterceptorFactory());
  if (metrics != nullptr) interceptors.push_back(CallMetricsInterceptorFactory(*metrics));
  builder.experimental().SetInterceptorCreators(std::move(interceptors));
  server->server_ = builder.BuildAndStart();
  if (server->server_ == nullptr || server->port_ == 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", config.host, ":", config.port));
  }
  grpc::Server* grpc_server = server->server_.get();
  KServeService* kserve_service = server->kserve_.get();
  server->watchdog_ = std::make_unique<HealthWatchdog>(
      engine, config.watchdog_timeout,
      [grpc_server, kserve_service](bool serving) { SetServing(*grpc_server, *kserve_service, serving); });
  return server;
}

GrpcServer::GrpcServer(std::string host, std::unique_ptr<SwitchyardService> service,
                       std::unique_ptr<KServeService> kserve)
    : host_(std::move(host)), service_(std::move(service)), kserve_(std::move(kserve)) {}

GrpcServer::~GrpcServer() { Shutdown(absl::Now()); }

std::string GrpcServer::address() const { return absl::StrCat(host_, ":", port_); }

void GrpcServer::StartDraining() {
  service_->StartDraining();
  kserve_->StartDraining();
  if (watchdog_) watchdog_->StartDraining();
  // NOT_SERVING for good. The health service's Shutdown notifies watchers
  // (also when called again by grpc::Server::Shutdown, where it is then a
  // no-op), so setting NOT_SERVING here as well would send it twice.
  if (server_ != nullptr) server_->GetHealthCheckService()->Shutdown();
}

void GrpcServer::Shutdown(absl::Time deadline) {
  if (shut_down_ || server_ == nullptr) return;
  shut_down_ = true;
  StartDraining();
  server_->Shutdown(absl::ToChronoTime(deadline));
  server_->Wait();
}

}  // namespace switchyard::server
