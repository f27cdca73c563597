#include "server/service/call_metrics_interceptor.h"

#include <chrono>
#include <string>

#include "grpcpp/server_context.h"

namespace switchyard::server {
namespace {

class CallMetricsInterceptor : public grpc::experimental::Interceptor {
 public:
  CallMetricsInterceptor(Metrics& metrics, grpc::experimental::ServerRpcInfo* info)
      : metrics_(metrics), info_(info), method_(info->method() == nullptr ? "" : info->method()) {}

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(grpc::experimental::InterceptionHookPoints::PRE_SEND_STATUS)) {
      metrics_.CountCall(method_, CountedStatusCode(methods->GetSendStatus().error_code(),
                                                    info_->server_context()->deadline(),
                                                    std::chrono::system_clock::now()));
    }
    methods->Proceed();
  }

 private:
  Metrics& metrics_;
  grpc::experimental::ServerRpcInfo* info_;
  std::string method_;
};

class Factory : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit Factory(Metrics& metrics) : metrics_(metrics) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(grpc::experimental::ServerRpcInfo* info) override {
    return new CallMetricsInterceptor(metrics_, info);
  }

 private:
  Metrics& metrics_;
};

}  // namespace

grpc::StatusCode CountedStatusCode(grpc::StatusCode sent, std::chrono::system_clock::time_point deadline,
                                   std::chrono::system_clock::time_point now) {
  // Measured on a busy loopback: up to 3.5 ms, and 7 ms for a call that
  // opened its connection.
  constexpr std::chrono::milliseconds kDeadlineSlack{20};
  if (sent == grpc::StatusCode::CANCELLED && deadline - kDeadlineSlack <= now) {
    return grpc::StatusCode::DEADLINE_EXCEEDED;
  }
  return sent;
}

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> CallMetricsInterceptorFactory(
    Metrics& metrics) {
  return std::make_unique<Factory>(metrics);
}

}  // namespace switchyard::server
