// The switchyard.v1.Switchyard gRPC service on the callback API: Generate and
// GenerateStream get a reactor each; Tokenize, Detokenize, GetModelInfo and
// GetExpertLoad are answered on the spot; WatchExpertLoad streams from a
// reactor of its own.
#pragma once

#include <atomic>
#include <string>

#include <optional>

#include "absl/status/status.h"
#include "engine/tokenizer/tokenizer.h"
#include "grpcpp/grpcpp.h"
#include "server/service/api_keys.h"
#include "server/service/engine_service.h"
#include "server/service/in_flight_calls.h"
#include "server/service/metrics.h"
#include "switchyard/v1/switchyard.grpc.pb.h"

namespace switchyard::server {

class SwitchyardService final : public v1::Switchyard::CallbackService {
 public:
  // `engine`, `tokenizer` and `metrics` (may be null) must outlive the
  // service; `model_name` is what requests may name in their `model` field;
  // with `api_keys`, every call must carry one of them.
  SwitchyardService(EngineService& engine, const engine::Tokenizer& tokenizer, std::string model_name,
                    Metrics* metrics, std::optional<ApiKeys> api_keys = std::nullopt);

  // New calls get UNAVAILABLE from now on; calls in flight go on.
  void StartDraining() { draining_ = true; }
  // Generate and GenerateStream calls not yet done (the others end at once).
  InFlightCalls& in_flight() { return in_flight_; }

  grpc::ServerUnaryReactor* Generate(grpc::CallbackServerContext* context, const v1::GenerateRequest* request,
                                     v1::GenerateResponse* response) override;
  grpc::ServerWriteReactor<v1::GenerateStreamResponse>* GenerateStream(grpc::CallbackServerContext* context,
                                                                        const v1::GenerateRequest* request) override;
  grpc::ServerUnaryReactor* Tokenize(grpc::CallbackServerContext* context, const v1::TokenizeRequest* request,
                                     v1::TokenizeResponse* response) override;
  grpc::ServerUnaryReactor* Detokenize(grpc::CallbackServerContext* context, const v1::DetokenizeRequest* request,
                                       v1::DetokenizeResponse* response) override;
  grpc::ServerUnaryReactor* GetModelInfo(grpc::CallbackServerContext* context,
                                         const v1::GetModelInfoRequest* request, v1::ModelInfo* response) override;
  grpc::ServerUnaryReactor* GetExpertLoad(grpc::CallbackServerContext* context,
                                          const v1::GetExpertLoadRequest* request, v1::ExpertLoad* response) override;
  grpc::ServerWriteReactor<v1::ExpertLoad>* WatchExpertLoad(grpc::CallbackServerContext* context,
                                                             const v1::WatchExpertLoadRequest* request) override;

 private:
  // UNAUTHENTICATED without a valid API key (checked first, so that a
  // stranger learns nothing of the model), UNAVAILABLE while draining or loading,
  // NOT_FOUND for a model name not served here.
  absl::Status Admit(const grpc::CallbackServerContext& context, const std::string& model) const;

  EngineService& engine_;
  const engine::Tokenizer& tokenizer_;
  std::string model_name_;
  std::atomic<bool> draining_{false};
  Metrics* metrics_;
  std::optional<ApiKeys> api_keys_;
  InFlightCalls in_flight_;
};

}  // namespace switchyard::server
