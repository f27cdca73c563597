// GenerateStream: one reactor per call with at most one write in flight
// (route_guide style). The engine thread appends its tokens to a pending
// chunk under the reactor's lock and, if no write is in flight, starts one;
// otherwise OnWriteDone sends whatever piled up meanwhile as one chunk, so a
// slow client costs the engine nothing but a larger next chunk.
#pragma once

#include <atomic>
#include <mutex>
#include <optional>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "engine/tokenizer/tokenizer.h"
#include "grpcpp/grpcpp.h"
#include "server/service/engine_service.h"
#include "server/service/generation.h"
#include "switchyard/v1/switchyard.pb.h"

namespace switchyard::server {

class GenerateStreamReactor final : public grpc::ServerWriteReactor<v1::GenerateStreamResponse> {
 public:
  // `admission` is the service's verdict on the call (model name, draining);
  // if not OK the call ends with it at once.
  GenerateStreamReactor(const GenerateEnv& env, const v1::GenerateRequest& request, absl::Time deadline,
                        absl::Status admission);

  void OnWriteDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override;

 private:
  void OnEngineOutput(const EngineOutput& output);  // engine thread
  // Under the lock, picks the next step: a write of msg_, Finish, or nothing;
  // Act then does it outside the lock.
  enum class Next { kNothing, kWrite, kFinish };
  Next NextLocked();
  void Act(Next next);
  void Unref();

  EngineService& engine_;
  InFlightCalls& calls_;  // entered by the service, left in OnDone
  std::string request_id_;
  std::optional<Generation> generation_;  // engine thread only
  scheduler::RequestId id_ = 0;
  bool submitted_ = false;

  std::mutex mu_;
  v1::GenerateChunk pending_;    // tokens not yet written
  bool ended_ = false;           // the engine's terminal event arrived
  absl::Status final_status_;    // of the call, once ended_
  v1::GenerationEnd end_;        // the last message, once ended_ with OK
  bool end_written_ = false;
  bool writing_ = false;         // a write is in flight; it owns msg_
  bool broken_ = false;          // cancelled, or a write failed
  bool finishing_ = false;       // Finish was called
  v1::GenerateStreamResponse msg_;

  // Deleted once gRPC is done with the call (OnDone) and the engine with the
  // request (its terminal event), in either order.
  std::atomic<int> refs_{2};
};

}  // namespace switchyard::server
