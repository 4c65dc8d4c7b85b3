#pragma once

#include "absl/status/status.h"
#include "grpcpp/grpcpp.h"

namespace shop {

// The one mapping from our errors to gRPC: same code (Abseil's codes are
// gRPC's), same message, and the ErrorInfo reason as a google.rpc.Status
// detail so callers can branch without parsing the message.
grpc::Status ToGrpcStatus(const absl::Status& status);

// The inverse, for clients: keeps the code, message and ErrorInfo.
absl::Status FromGrpcStatus(const grpc::Status& status);

}  // namespace shop
