// KServe v2 ModelInfer: one generation through the same path as
// switchyard.v1 Generate (StartGeneration, Generation), its outputs
// accumulated on the engine thread and the whole text returned in one
// ModelInferResponse, from the terminal event (Finish never blocks). A client
// cancellation or a passed deadline cancels the request in the engine.
#pragma once

#include <atomic>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "inference/grpc_service.pb.h"
#include "server/service/generation.h"
#include "server/service/kserve_request.h"

namespace switchyard::server {

class KServeInferReactor final : public grpc::ServerUnaryReactor {
 public:
  // `request` is the translated request, or the status the call ends with at
  // once (admission, translation). A request with `stream` true is refused:
  // one response cannot stream.
  KServeInferReactor(const GenerateEnv& env, absl::StatusOr<KServeRequest> request, std::string model_name,
                     inference::ModelInferResponse* response, absl::Time deadline);

  void OnCancel() override;
  void OnDone() override;

 private:
  void OnEngineOutput(const EngineOutput& output);  // engine thread
  void Unref();

  EngineService& engine_;
  InFlightCalls& calls_;  // entered by the service, left in OnDone
  std::string model_name_;
  inference::ModelInferResponse* response_;
  KServeRequest request_;
  std::optional<Generation> generation_;
  v1::GenerateChunk chunk_;  // all of the generation
  scheduler::RequestId id_ = 0;
  bool submitted_ = false;
  // Deleted once gRPC is done with the call (OnDone) and the engine with the
  // request (its terminal event), in either order.
  std::atomic<int> refs_{2};
};

}  // namespace switchyard::server
