#include "server/service/watch_expert_load_reactor.h"

#include "server/service/expert_load.h"
#include "server/service/grpc_status.h"

namespace switchyard::server {

WatchExpertLoadReactor::WatchExpertLoadReactor(const EngineService& engine, absl::Duration interval,
                                               const absl::Status& admission)
    : engine_(engine), interval_(interval) {
  if (!admission.ok()) {
    FinishOnce(ToGrpcStatus(admission));
    return;
  }
  WriteLoad();
}

void WatchExpertLoadReactor::WriteLoad() {
  msg_.Clear();
  FillExpertLoad(engine_.snapshot(), engine_.model_config().top_k, msg_);
  StartWrite(&msg_);
}

void WatchExpertLoadReactor::OnWriteDone(bool ok) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (ok && !cancelled_) {
      // A fresh alarm per wait: the previous one has fired, and its callback
      // (which started the write just done) holds its own reference.
      alarm_ = std::make_unique<grpc::Alarm>();
      alarm_->Set(absl::ToChronoTime(absl::Now() + interval_), [this](bool fired) { OnAlarm(fired); });
      return;
    }
  }
  FinishOnce(grpc::Status(grpc::StatusCode::CANCELLED, "the call was cancelled"));
}

void WatchExpertLoadReactor::OnAlarm(bool fired) {
  bool write = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    write = fired && !cancelled_;
  }
  if (write) {
    WriteLoad();
  } else {
    FinishOnce(grpc::Status(grpc::StatusCode::CANCELLED, "the call was cancelled"));
  }
}

void WatchExpertLoadReactor::OnCancel() {
  grpc::Alarm* alarm = nullptr;
  {
    std::lock_guard<std::mutex> lock(mu_);
    cancelled_ = true;
    alarm = alarm_.get();  // not replaced from now on: OnWriteDone sees cancelled_
  }
  // A pending wait ends at once and its callback finishes the call; a write
  // in flight finishes it in OnWriteDone; an alarm that already fired is
  // not affected.
  if (alarm != nullptr) alarm->Cancel();
}

void WatchExpertLoadReactor::FinishOnce(const grpc::Status& status) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (finished_) return;
    finished_ = true;
  }
  Finish(status);  // OnDone may delete this from here on
}

}  // namespace switchyard::server
