#include "server/service/generate_stream_reactor.h"

#include <utility>

#include "server/service/grpc_status.h"

namespace switchyard::server {

GenerateStreamReactor::GenerateStreamReactor(const GenerateEnv& env, const v1::GenerateRequest& request,
                                             absl::Time deadline, absl::Status admission)
    : engine_(env.engine), calls_(env.calls), request_id_(request.request_id()) {
  absl::StatusOr<scheduler::RequestId> id = StartGeneration(
      env, request, deadline, admission, generation_, [this](const EngineOutput& o) { OnEngineOutput(o); });
  if (!id.ok()) {
    refs_ = 1;  // the engine will never call back
    finishing_ = true;
    Finish(ToGrpcStatus(id.status()));
    return;
  }
  id_ = *id;
  submitted_ = true;
}

void GenerateStreamReactor::OnEngineOutput(const EngineOutput& output) {
  Next next;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (generation_->Add(output, pending_)) {
      ended_ = true;
      final_status_ = generation_->status();
      end_.set_request_id(request_id_);
      generation_->FillEnd(end_);
    }
    next = NextLocked();
  }
  Act(next);
  if (output.output.finish || !output.error.ok()) Unref();
}

void GenerateStreamReactor::OnWriteDone(bool ok) {
  Next next;
  {
    std::lock_guard<std::mutex> lock(mu_);
    writing_ = false;
    if (!ok) broken_ = true;
    next = NextLocked();
  }
  Act(next);
}

void GenerateStreamReactor::OnCancel() {
  if (submitted_) engine_.Cancel(id_);
  Next next;
  {
    std::lock_guard<std::mutex> lock(mu_);
    broken_ = true;
    next = NextLocked();
  }
  Act(next);
}

GenerateStreamReactor::Next GenerateStreamReactor::NextLocked() {
  if (writing_ || finishing_) return Next::kNothing;
  if (broken_) {
    final_status_ = absl::CancelledError("the call was cancelled");
    finishing_ = true;
    return Next::kFinish;
  }
  if (pending_.token_ids_size() > 0 || !pending_.text().empty()) {
    msg_.Clear();
    msg_.mutable_chunk()->Swap(&pending_);
    writing_ = true;
    return Next::kWrite;
  }
  if (!ended_) return Next::kNothing;
  if (final_status_.ok() && !end_written_) {
    msg_.Clear();
    *msg_.mutable_end() = end_;
    end_written_ = true;
    writing_ = true;
    return Next::kWrite;
  }
  finishing_ = true;
  return Next::kFinish;
}

void GenerateStreamReactor::Act(Next next) {
  // msg_ and final_status_ are stable here: writing_ or finishing_ was set
  // under the lock, and nothing touches them until the write completes.
  if (next == Next::kWrite) StartWrite(&msg_);
  if (next == Next::kFinish) Finish(ToGrpcStatus(final_status_));
}

void GenerateStreamReactor::OnDone() {
  calls_.Exit();
  Unref();
}

void GenerateStreamReactor::Unref() {
  if (refs_.fetch_sub(1) == 1) delete this;
}

}  // namespace switchyard::server
