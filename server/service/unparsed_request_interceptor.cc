#include "server/service/unparsed_request_interceptor.h"

#include <chrono>

#include "absl/strings/str_cat.h"
#include "google/protobuf/descriptor.h"
#include "inference/grpc_service.grpc.pb.h"
#include "switchyard/v1/switchyard.grpc.pb.h"

namespace switchyard::server {
namespace {

// The services whose handlers are ours. Each implements every method its
// proto declares (inference/grpc_service.proto declares only the served
// ones), so an empty UNIMPLEMENTED on one of them can only be gRPC's.
constexpr const char* kOurServices[] = {v1::Switchyard::service_full_name(),
                                        inference::GRPCInferenceService::service_full_name()};

// The request message's type if `method` is one of our services', else
// nullptr.
const google::protobuf::Descriptor* RequestType(const std::string& method) {
  for (const char* name : kOurServices) {
    const std::string prefix = absl::StrCat("/", name, "/");
    if (method.rfind(prefix, 0) != 0) continue;
    const google::protobuf::ServiceDescriptor* service =
        google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(name);
    if (service == nullptr) return nullptr;
    const google::protobuf::MethodDescriptor* m = service->FindMethodByName(method.substr(prefix.size()));
    return m == nullptr ? nullptr : m->input_type();
  }
  return nullptr;
}

class UnparsedRequestInterceptor : public grpc::experimental::Interceptor {
 public:
  explicit UnparsedRequestInterceptor(grpc::experimental::ServerRpcInfo* info) : info_(info) {}

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(grpc::experimental::InterceptionHookPoints::PRE_SEND_STATUS)) {
      const std::string method = info_->method() == nullptr ? "" : info_->method();
      // A deadline that passed before the request was read leaves gRPC's
      // UNIMPLEMENTED too, and the context is not always cancelled yet.
      const grpc::ServerContextBase* context = info_->server_context();
      const CallEnd call = context->deadline() <= std::chrono::system_clock::now() ? CallEnd::kDeadlinePassed
                           : context->IsCancelled()                             ? CallEnd::kCancelled
                                                                                 : CallEnd::kLive;
      if (std::optional<grpc::Status> replaced = StatusForUnparsedRequest(method, methods->GetSendStatus(), call)) {
        methods->ModifySendStatus(*replaced);
      }
    }
    methods->Proceed();
  }

 private:
  grpc::experimental::ServerRpcInfo* info_;
};

class Factory : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  grpc::experimental::Interceptor* CreateServerInterceptor(grpc::experimental::ServerRpcInfo* info) override {
    return new UnparsedRequestInterceptor(info);
  }
};

}  // namespace

std::optional<grpc::Status> StatusForUnparsedRequest(const std::string& method, const grpc::Status& status,
                                                     CallEnd call) {
  // Our handlers never send UNIMPLEMENTED; gRPC sends it, without a message,
  // when the request did not reach a handler.
  if (status.error_code() != grpc::StatusCode::UNIMPLEMENTED || !status.error_message().empty()) return std::nullopt;
  const google::protobuf::Descriptor* request = RequestType(method);
  if (request == nullptr) return std::nullopt;
  if (call == CallEnd::kDeadlinePassed) {
    return grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED, "the deadline passed before the request was read");
  }
  if (call == CallEnd::kCancelled) return grpc::Status(grpc::StatusCode::CANCELLED, "the client cancelled the call");
  return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                      absl::StrCat("the request could not be parsed as ", request->full_name(),
                                   ": the bytes are not a valid protobuf message of that type, or a string "
                                   "field holds invalid UTF-8"));
}

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> UnparsedRequestInterceptorFactory() {
  return std::make_unique<Factory>();
}

}  // namespace switchyard::server
