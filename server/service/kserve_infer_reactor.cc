#include "server/service/kserve_infer_reactor.h"

#include <algorithm>
#include <utility>

#include "server/service/grpc_status.h"
#include "server/service/kserve_response.h"

namespace switchyard::server {

KServeInferReactor::KServeInferReactor(const GenerateEnv& env, absl::StatusOr<KServeRequest> request,
                                       std::string model_name, inference::ModelInferResponse* response,
                                       absl::Time deadline)
    : engine_(env.engine), calls_(env.calls), model_name_(std::move(model_name)), response_(response) {
  absl::Status status = request.status();
  if (status.ok() && request->stream) {
    status = absl::InvalidArgumentError(
        "input \"stream\" is true, but ModelInfer returns one response; stream with ModelStreamInfer");
  }
  absl::StatusOr<scheduler::RequestId> id;
  if (status.ok()) {
    request_ = std::move(*request);
    if (request_.timeout) deadline = std::min(deadline, absl::Now() + *request_.timeout);
    id = StartGeneration(env, request_.generate, deadline, absl::OkStatus(), generation_,
                         [this](const EngineOutput& o) { OnEngineOutput(o); });
  } else {
    id = status;
  }
  if (!id.ok()) {
    refs_ = 1;  // the engine will never call back
    Finish(ToGrpcStatus(id.status()));
    return;
  }
  id_ = *id;
  submitted_ = true;
}

void KServeInferReactor::OnEngineOutput(const EngineOutput& output) {
  if (!generation_->Add(output, chunk_)) return;
  const absl::Status status = generation_->status();
  if (status.ok()) {
    v1::GenerationEnd end;
    generation_->FillEnd(end);
    KServeOutput out;
    out.text = std::move(*chunk_.mutable_text());
    out.with_prompt = true;
    out.finish = end.finish_reason();
    out.prompt_tokens = end.usage().prompt_tokens();
    out.completion_tokens = end.usage().completion_tokens();
    FillInferResponse(request_, model_name_, out, *response_);
  }
  Finish(ToGrpcStatus(status));
  Unref();
}

void KServeInferReactor::OnCancel() {
  if (submitted_) engine_.Cancel(id_);
}

void KServeInferReactor::OnDone() {
  calls_.Exit();
  Unref();
}

void KServeInferReactor::Unref() {
  if (refs_.fetch_sub(1) == 1) delete this;
}

}  // namespace switchyard::server
