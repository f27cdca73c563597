#include "server/service/call_metrics_interceptor.h"

#include <string>

namespace switchyard::server {
namespace {

class CallMetricsInterceptor : public grpc::experimental::Interceptor {
 public:
  CallMetricsInterceptor(Metrics& metrics, std::string method) : metrics_(metrics), method_(std::move(method)) {}

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(grpc::experimental::InterceptionHookPoints::PRE_SEND_STATUS)) {
      metrics_.CountCall(method_, methods->GetSendStatus().error_code());
    }
    methods->Proceed();
  }

 private:
  Metrics& metrics_;
  std::string method_;
};

class Factory : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit Factory(Metrics& metrics) : metrics_(metrics) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(grpc::experimental::ServerRpcInfo* info) override {
    return new CallMetricsInterceptor(metrics_, info->method() == nullptr ? "" : info->method());
  }

 private:
  Metrics& metrics_;
};

}  // namespace

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> CallMetricsInterceptorFactory(
    Metrics& metrics) {
  return std::make_unique<Factory>(metrics);
}

}  // namespace switchyard::server
