#include "server/service/kserve_service.h"

#include <chrono>
#include <utility>

#include "absl/strings/str_cat.h"
#include "server/service/grpc_status.h"
#include "server/service/kserve_infer_reactor.h"
#include "server/service/kserve_model.h"
#include "server/service/kserve_request.h"
#include "server/service/kserve_stream_reactor.h"
#include "server/service/quoted_value.h"

namespace switchyard::server {
namespace {

absl::Time Deadline(const grpc::CallbackServerContext& context) {
  const auto deadline = context.deadline();
  if (deadline == std::chrono::system_clock::time_point::max()) return absl::InfiniteFuture();
  return absl::FromChrono(deadline);
}

grpc::ServerUnaryReactor* Done(grpc::CallbackServerContext* context, const absl::Status& status) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(ToGrpcStatus(status));
  return reactor;
}

}  // namespace

KServeService::KServeService(EngineService& engine, const engine::Tokenizer& tokenizer, std::string model_name,
                             Metrics* metrics, std::optional<ApiKeys> api_keys, InFlightCalls& in_flight)
    : engine_(engine),
      tokenizer_(tokenizer),
      model_name_(std::move(model_name)),
      metrics_(metrics),
      api_keys_(std::move(api_keys)),
      in_flight_(in_flight) {}

absl::Status KServeService::CheckKey(const grpc::CallbackServerContext& context) const {
  return api_keys_ ? api_keys_->Check(context.client_metadata()) : absl::OkStatus();
}

absl::Status KServeService::AdmitModel(const std::string& name, const std::string& version) const {
  if (draining_) return absl::UnavailableError("the server is shutting down");
  if (!engine_.loaded()) return absl::UnavailableError("the model is still loading");
  if (!name.empty() && name != model_name_) {
    return absl::NotFoundError(absl::StrCat("model ", QuotedValue(name), " is not served here; this server serves \"",
                                            model_name_, "\""));
  }
  if (!version.empty() && version != kKServeModelVersion) {
    return absl::NotFoundError(absl::StrCat("model \"", model_name_, "\" has no version ", QuotedValue(version),
                                            "; its one version is \"", kKServeModelVersion, "\""));
  }
  return absl::OkStatus();
}

grpc::ServerUnaryReactor* KServeService::ServerLive(grpc::CallbackServerContext* context,
                                                    const inference::ServerLiveRequest*,
                                                    inference::ServerLiveResponse* response) {
  response->set_live(true);
  return Done(context, absl::OkStatus());
}

grpc::ServerUnaryReactor* KServeService::ServerReady(grpc::CallbackServerContext* context,
                                                     const inference::ServerReadyRequest*,
                                                     inference::ServerReadyResponse* response) {
  response->set_ready(Ready());
  return Done(context, absl::OkStatus());
}

grpc::ServerUnaryReactor* KServeService::ModelReady(grpc::CallbackServerContext* context,
                                                    const inference::ModelReadyRequest* request,
                                                    inference::ModelReadyResponse* response) {
  if (absl::Status st = CheckKey(*context); !st.ok()) return Done(context, st);
  // Triton answers "not ready" for a model it does not know, not NOT_FOUND.
  response->set_ready(Ready() && AdmitModel(request->name(), request->version()).ok());
  return Done(context, absl::OkStatus());
}

grpc::ServerUnaryReactor* KServeService::ServerMetadata(grpc::CallbackServerContext* context,
                                                        const inference::ServerMetadataRequest*,
                                                        inference::ServerMetadataResponse* response) {
  if (absl::Status st = CheckKey(*context); !st.ok()) return Done(context, st);
  response->set_name("switchyard");
  response->add_extensions("model_configuration");
  response->add_extensions("parameters");
  return Done(context, absl::OkStatus());
}

grpc::ServerUnaryReactor* KServeService::ModelMetadata(grpc::CallbackServerContext* context,
                                                       const inference::ModelMetadataRequest* request,
                                                       inference::ModelMetadataResponse* response) {
  absl::Status st = CheckKey(*context);
  if (st.ok()) st = AdmitModel(request->name(), request->version());
  if (st.ok()) FillModelMetadata(model_name_, *response);
  return Done(context, st);
}

grpc::ServerUnaryReactor* KServeService::ModelConfig(grpc::CallbackServerContext* context,
                                                     const inference::ModelConfigRequest* request,
                                                     inference::ModelConfigResponse* response) {
  absl::Status st = CheckKey(*context);
  if (st.ok()) st = AdmitModel(request->name(), request->version());
  if (st.ok()) FillModelConfig(model_name_, *response->mutable_config());
  return Done(context, st);
}

grpc::ServerUnaryReactor* KServeService::ModelInfer(grpc::CallbackServerContext* context,
                                                    const inference::ModelInferRequest* request,
                                                    inference::ModelInferResponse* response) {
  in_flight_.Enter();
  absl::Status admission = CheckKey(*context);
  if (admission.ok()) admission = AdmitModel(request->model_name(), request->model_version());
  absl::StatusOr<KServeRequest> translated = admission.ok() ? TranslateInferRequest(*request) : admission;
  return new KServeInferReactor({engine_, tokenizer_, in_flight_, metrics_}, std::move(translated), model_name_,
                                response, Deadline(*context));
}

grpc::ServerBidiReactor<inference::ModelInferRequest, inference::ModelStreamInferResponse>*
KServeService::ModelStreamInfer(grpc::CallbackServerContext* context) {
  absl::Status opened = CheckKey(*context);
  if (opened.ok() && draining_) opened = absl::UnavailableError("the server is shutting down");
  return new KServeStreamReactor(
      {engine_, tokenizer_, in_flight_, metrics_}, model_name_,
      [this](const std::string& model, const std::string& version) { return AdmitModel(model, version); },
      Deadline(*context), opened);
}

}  // namespace switchyard::server
