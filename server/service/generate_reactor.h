// Unary Generate: the engine's outputs accumulate into the response on the
// engine thread, and the terminal one finishes the call from there (Finish
// never blocks). A client cancellation or a passed deadline cancels the
// request in the engine, which frees its KV blocks within one step.
#pragma once

#include <atomic>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "engine/tokenizer/tokenizer.h"
#include "grpcpp/grpcpp.h"
#include "server/service/engine_service.h"
#include "server/service/generation.h"
#include "switchyard/v1/switchyard.pb.h"

namespace switchyard::server {

class GenerateReactor final : public grpc::ServerUnaryReactor {
 public:
  // `admission` is the service's verdict on the call (model name, draining);
  // if not OK the call ends with it at once.
  GenerateReactor(const GenerateEnv& env, const v1::GenerateRequest& request, v1::GenerateResponse* response,
                  absl::Time deadline, absl::Status admission);

  void OnCancel() override;
  void OnDone() override;

 private:
  void OnEngineOutput(const EngineOutput& output);  // engine thread
  void Unref();

  EngineService& engine_;
  InFlightCalls& calls_;  // entered by the service, left in OnDone
  v1::GenerateResponse* response_;
  std::optional<Generation> generation_;
  v1::GenerateChunk chunk_;  // all of the generation, copied into the response at the end
  scheduler::RequestId id_ = 0;
  bool submitted_ = false;
  // Deleted once gRPC is done with the call (OnDone) and the engine with the
  // request (its terminal event), in either order.
  std::atomic<int> refs_{2};
};

}  // namespace switchyard::server
