#include "server/service/generate_reactor.h"

#include <string>
#include <utility>

#include "server/service/grpc_status.h"

namespace switchyard::server {

GenerateReactor::GenerateReactor(const GenerateEnv& env, const v1::GenerateRequest& request,
                                 v1::GenerateResponse* response, absl::Time deadline, absl::Status admission)
    : engine_(env.engine), calls_(env.calls), response_(response) {
  response_->set_request_id(request.request_id());
  absl::StatusOr<scheduler::RequestId> id = StartGeneration(
      env, request, deadline, admission, generation_, [this](const EngineOutput& o) { OnEngineOutput(o); });
  if (!id.ok()) {
    refs_ = 1;  // the engine will never call back
    Finish(ToGrpcStatus(id.status()));
    return;
  }
  id_ = *id;
  submitted_ = true;
}

void GenerateReactor::OnEngineOutput(const EngineOutput& output) {
  if (!generation_->Add(output, chunk_)) return;
  const absl::Status status = generation_->status();
  if (status.ok()) {
    response_->mutable_token_ids()->Swap(chunk_.mutable_token_ids());
    response_->set_text(std::move(*chunk_.mutable_text()));
    response_->mutable_logprobs()->Swap(chunk_.mutable_logprobs());
    response_->mutable_routing()->Swap(chunk_.mutable_routing());
    v1::GenerationEnd end;
    generation_->FillEnd(end);
    response_->set_finish_reason(end.finish_reason());
    *response_->mutable_usage() = end.usage();
    *response_->mutable_timings() = end.timings();
  }
  Finish(ToGrpcStatus(status));
  Unref();
}

void GenerateReactor::OnCancel() {
  if (submitted_) engine_.Cancel(id_);
}

void GenerateReactor::OnDone() {
  calls_.Exit();
  Unref();
}

void GenerateReactor::Unref() {
  if (refs_.fetch_sub(1) == 1) delete this;
}

}  // namespace switchyard::server
