// WatchExpertLoad: one ExpertLoad right away, then one every interval, until
// the client cancels or the server shuts down. One write in flight; the wait
// between writes is a grpc::Alarm, so no thread sleeps for the stream.
#pragma once

#include <memory>
#include <mutex>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "grpcpp/alarm.h"
#include "grpcpp/grpcpp.h"
#include "server/service/engine_service.h"
#include "switchyard/v1/switchyard.pb.h"

namespace switchyard::server {

class WatchExpertLoadReactor final : public grpc::ServerWriteReactor<v1::ExpertLoad> {
 public:
  // `admission` is the service's verdict on the call; if not OK the call
  // ends with it at once. `engine` must outlive the call.
  WatchExpertLoadReactor(const EngineService& engine, absl::Duration interval, const absl::Status& admission);

  void OnWriteDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override { delete this; }

 private:
  void WriteLoad();
  void OnAlarm(bool fired);
  void FinishOnce(const grpc::Status& status);

  const EngineService& engine_;
  const absl::Duration interval_;
  v1::ExpertLoad msg_;  // owned by the write in flight

  std::mutex mu_;
  std::unique_ptr<grpc::Alarm> alarm_;  // the wait for the next write, if one is set
  bool cancelled_ = false;
  bool finished_ = false;
};

}  // namespace switchyard::server
