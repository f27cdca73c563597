// KServe v2 / Triton ModelStreamInfer: a bidirectional stream on which a
// client sends any number of requests, each generated through the same path
// as switchyard.v1 GenerateStream (StartGeneration, Generation), with their
// responses interleaved on the way back. One reactor per stream, one read and
// at most one write in flight. The engine thread appends a request's tokens
// to that request's pending delta under the reactor's lock; each write sends
// one request's whole pending delta, taking the requests in turn, so a slow
// client costs the engine nothing but larger deltas and no request starves.
//
// A request that fails (bad tensors, unknown model, a full queue, the
// engine's error) gets one response with error_message; the stream goes on.
// Each request counts as a call in flight until its last response is
// written, so a drain waits for generations, not for idle streams; the
// stream ends OK once the client has closed its side and every request has
// had its last response.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "inference/grpc_service.pb.h"
#include "server/service/generation.h"
#include "server/service/kserve_request.h"

namespace switchyard::server {

class KServeStreamReactor final
    : public grpc::ServerBidiReactor<inference::ModelInferRequest, inference::ModelStreamInferResponse> {
 public:
  // Decides each request's model name and version (and draining, loading).
  using AdmitFn = std::function<absl::Status(const std::string& model, const std::string& version)>;

  // `opened` is the service's verdict on the stream (API key, draining): if
  // not OK the stream ends with it at once. `deadline` is the stream's.
  KServeStreamReactor(const GenerateEnv& env, std::string model_name, AdmitFn admit, absl::Time deadline,
                      absl::Status opened);

  void OnReadDone(bool ok) override;
  void OnWriteDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override;

 private:
  struct Job {
    KServeRequest request;
    std::optional<Generation> generation;
    scheduler::RequestId engine_id = 0;
    bool submitted = false;  // engine_id is set; until then the job is not written
    v1::GenerateChunk pending;  // tokens and text not yet sent
    bool prompt_sent = false;
    bool ended = false;  // the engine's terminal event arrived
    absl::Status status;  // of the generation, once ended
  };
  // What to do outside the lock, in this order.
  struct Actions {
    bool read = false;    // StartRead(&request_)
    bool write = false;   // StartWrite(&msg_)
    bool finish = false;  // Finish(final_status_)
  };

  void Handle(const inference::ModelInferRequest& request);  // gRPC thread, outside the lock
  void OnEngineOutput(Job* job, const EngineOutput& output);  // engine thread
  // Under the lock, picks the next steps; Act then does them outside it.
  Actions NextLocked();
  bool ReadyLocked(const Job& job) const;
  void WriteJobLocked(uint64_t key);  // fills msg_ from the job's pending output
  void Act(const Actions& actions);
  std::vector<scheduler::RequestId> CancelAllLocked();  // the engine ids to cancel
  void Unref();

  GenerateEnv env_;
  const std::string model_name_;
  const AdmitFn admit_;
  const absl::Time deadline_;
  inference::ModelInferRequest request_;  // the read in flight owns it

  std::mutex mu_;
  std::map<uint64_t, std::unique_ptr<Job>> jobs_;  // by arrival
  uint64_t next_key_ = 0;
  uint64_t last_written_ = UINT64_MAX;  // the job written last, to take turns
  std::deque<inference::ModelStreamInferResponse> errors_;  // failed requests' responses
  bool reading_ = false;     // a read, or the handling of what it read, is in flight
  bool reads_done_ = false;  // the client closed its side (or the stream broke)
  bool broken_ = false;      // cancelled, or a write failed
  bool writing_ = false;     // a write is in flight; it owns msg_
  bool msg_ends_job_ = false;  // msg_ is a job's last response (one call in flight ends with it)
  bool finishing_ = false;
  absl::Status final_status_;
  inference::ModelStreamInferResponse msg_;

  // Deleted once gRPC is done with the stream (OnDone) and the engine with
  // every request (their terminal events), in any order.
  std::atomic<int> refs_{1};
};

}  // namespace switchyard::server
