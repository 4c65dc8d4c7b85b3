#pragma once

#include <memory>
#include <string>

#include "absl/strings/string_view.h"
#include "grpcpp/support/server_interceptor.h"

namespace shop {

// Writes one JSON line per call to stdout: time, method, code, latency,
// peer, request and correlation ids; the error text for server faults.
std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
MakeAccessLogInterceptorFactory();

}  // namespace shop
