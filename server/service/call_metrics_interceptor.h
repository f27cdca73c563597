// Counts every gRPC call by method and status code, as the status is sent,
// for all services alike (health and reflection included): one interceptor
// instead of a counter call beside every Finish.
#pragma once

#include <chrono>
#include <memory>

#include "grpcpp/support/server_interceptor.h"
#include "grpcpp/support/status.h"
#include "server/service/metrics.h"

namespace switchyard::server {

// The code a call is counted with: the one sent, except that a cancellation
// at (or within 20 ms before) the server's copy of the deadline is counted
// DEADLINE_EXCEEDED. A client whose deadline passes gets DEADLINE_EXCEEDED
// and resets the stream, which reaches the handler as a cancellation,
// usually before the engine sees the deadline; the server's copy of the
// deadline is later than the client's by the request's transit time (a
// first call's connection included) and the timeout header's rounding.
// Counted as CANCELLED, deadline errors would hide among client cancels.
grpc::StatusCode CountedStatusCode(grpc::StatusCode sent, std::chrono::system_clock::time_point deadline,
                                   std::chrono::system_clock::time_point now);

// `metrics` must outlive the server the factory is installed in.
std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> CallMetricsInterceptorFactory(
    Metrics& metrics);

}  // namespace switchyard::server
