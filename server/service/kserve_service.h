// inference.GRPCInferenceService, the KServe v2 / Triton protocol, on the
// callback API, beside switchyard.v1 on the same port and engine: health
// and metadata are answered on the spot, ModelInfer and ModelStreamInfer get
// a reactor each and generate through the same path as switchyard.v1.
//
// API keys apply as to switchyard.v1, except to ServerLive and ServerReady,
// which tell only what grpc.health.v1 (also exempt) tells: probes carry no
// key. ModelReady needs a key, since it confirms a model name (and a
// stranger learns nothing of the model). The one model is named by the served
// model name ("" also means it), version "1" (or ""); another name or
// version is NOT_FOUND.
#pragma once

#include <atomic>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "engine/tokenizer/tokenizer.h"
#include "grpcpp/grpcpp.h"
#include "inference/grpc_service.grpc.pb.h"
#include "server/service/api_keys.h"
#include "server/service/engine_service.h"
#include "server/service/in_flight_calls.h"
#include "server/service/metrics.h"

namespace switchyard::server {

class KServeService final : public inference::GRPCInferenceService::CallbackService {
 public:
  // All references must outlive the service; `metrics` may be null.
  // `in_flight` is shared with the switchyard.v1 service, so that a drain
  // waits for the generations of both.
  KServeService(EngineService& engine, const engine::Tokenizer& tokenizer, std::string model_name,
                Metrics* metrics, std::optional<ApiKeys> api_keys, InFlightCalls& in_flight);

  // New calls and requests get UNAVAILABLE, and readiness false, from now on.
  void StartDraining() { draining_ = true; }
  // What grpc.health.v1 says (GrpcServer keeps them in step).
  void SetServing(bool serving) { serving_ = serving; }

  grpc::ServerUnaryReactor* ServerLive(grpc::CallbackServerContext* context,
                                       const inference::ServerLiveRequest* request,
                                       inference::ServerLiveResponse* response) override;
  grpc::ServerUnaryReactor* ServerReady(grpc::CallbackServerContext* context,
                                        const inference::ServerReadyRequest* request,
                                        inference::ServerReadyResponse* response) override;
  grpc::ServerUnaryReactor* ModelReady(grpc::CallbackServerContext* context,
                                       const inference::ModelReadyRequest* request,
                                       inference::ModelReadyResponse* response) override;
  grpc::ServerUnaryReactor* ServerMetadata(grpc::CallbackServerContext* context,
                                           const inference::ServerMetadataRequest* request,
                                           inference::ServerMetadataResponse* response) override;
  grpc::ServerUnaryReactor* ModelMetadata(grpc::CallbackServerContext* context,
                                          const inference::ModelMetadataRequest* request,
                                          inference::ModelMetadataResponse* response) override;
  grpc::ServerUnaryReactor* ModelConfig(grpc::CallbackServerContext* context,
                                        const inference::ModelConfigRequest* request,
                                        inference::ModelConfigResponse* response) override;
  grpc::ServerUnaryReactor* ModelInfer(grpc::CallbackServerContext* context,
                                       const inference::ModelInferRequest* request,
                                       inference::ModelInferResponse* response) override;
  grpc::ServerBidiReactor<inference::ModelInferRequest, inference::ModelStreamInferResponse>* ModelStreamInfer(
      grpc::CallbackServerContext* context) override;

 private:
  // UNAUTHENTICATED without a valid API key, when keys are configured.
  absl::Status CheckKey(const grpc::CallbackServerContext& context) const;
  // UNAVAILABLE while draining or loading, NOT_FOUND for a model name or
  // version not served here.
  absl::Status AdmitModel(const std::string& name, const std::string& version) const;
  bool Ready() const { return serving_ && !draining_; }

  EngineService& engine_;
  const engine::Tokenizer& tokenizer_;
  const std::string model_name_;
  Metrics* metrics_;
  const std::optional<ApiKeys> api_keys_;
  InFlightCalls& in_flight_;
  std::atomic<bool> draining_{false};
  std::atomic<bool> serving_{false};
};

}  // namespace switchyard::server
