#pragma once

#include <memory>

#include "common/metrics/metrics.h"
#include "grpcpp/support/server_interceptor.h"

namespace shop {

// Counts every call by method and code (grpc_server_handled_total) and
// observes its latency by method (grpc_server_handling_seconds), the names
// go-grpc-prometheus made common, in `registry`.
std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
MakeMetricsInterceptorFactory(metrics::Registry* registry);

}  // namespace shop
