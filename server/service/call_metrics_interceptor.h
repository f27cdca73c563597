// Counts every gRPC call by method and status code, as the status is sent,
// for all services alike (health and reflection included): one interceptor
// instead of a counter call beside every Finish.
#pragma once

#include <memory>

#include "grpcpp/support/server_interceptor.h"
#include "server/service/metrics.h"

namespace switchyard::server {

// `metrics` must outlive the server the factory is installed in.
std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> CallMetricsInterceptorFactory(
    Metrics& metrics);

}  // namespace switchyard::server
