// Gives calls whose request message could not be parsed a precise status.
//
// gRPC's callback API (1.51) fails such a call with UNIMPLEMENTED and an empty
// message, the same status as a method that does not exist, and does the
// same when a client cancels before its request message has arrived. This
// interceptor, installed first so that the call metrics count what it sends,
// rewrites that status on the methods the switchyard.v1 and KServe
// (inference.GRPCInferenceService) services implement: CANCELLED when the
// client is gone, else INVALID_ARGUMENT saying that the request could not be
// parsed. Unknown methods keep UNIMPLEMENTED. (A bidirectional stream's
// handler starts before any message is read: there gRPC reports a message
// that does not parse to the reactor as the end of the stream instead.)
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "grpcpp/support/server_interceptor.h"

namespace switchyard::server {

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> UnparsedRequestInterceptorFactory();

// What had become of the call when its status was sent.
enum class CallEnd { kLive, kCancelled, kDeadlinePassed };

// The status to send instead of `status` on `method` ("/package.Service/Method"),
// or nullopt to send it as it is.
std::optional<grpc::Status> StatusForUnparsedRequest(const std::string& method, const grpc::Status& status,
                                                     CallEnd call);

}  // namespace switchyard::server
