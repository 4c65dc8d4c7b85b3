#include "common/rpc/status_mapping.h"

#include "common/errors/errors.h"
#include "gtest/gtest.h"

namespace shop {
namespace {

// Code, message and reason survive the trip to gRPC and back.
TEST(StatusMappingTest, ReasonTravelsAsErrorDetails) {
  absl::Status original =
      MakeError(absl::StatusCode::kFailedPrecondition, "inventory.v1",
                "INSUFFICIENT_STOCK", "insufficient stock for p: requested 2",
                {{"available", "1"}});
  grpc::Status wire = ToGrpcStatus(original);
  EXPECT_EQ(wire.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(wire.error_message(), "insufficient stock for p: requested 2");
  EXPECT_FALSE(wire.error_details().empty());

  absl::Status back = FromGrpcStatus(wire);
  EXPECT_EQ(back.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(back.message(), original.message());
  std::optional<google::rpc::ErrorInfo> info = ErrorInfoOf(back);
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->reason(), "INSUFFICIENT_STOCK");
  EXPECT_EQ(info->domain(), "inventory.v1");
  EXPECT_EQ(info->metadata().at("available"), "1");
}

// Every code maps to the gRPC code of the same number.
TEST(StatusMappingTest, CodesMapOneToOne) {
  for (int code = 1; code <= 16; ++code) {
    absl::Status status(static_cast<absl::StatusCode>(code), "x");
    EXPECT_EQ(static_cast<int>(ToGrpcStatus(status).error_code()), code);
    EXPECT_EQ(static_cast<int>(FromGrpcStatus(ToGrpcStatus(status)).code()),
              code);
  }
  EXPECT_TRUE(ToGrpcStatus(absl::OkStatus()).ok());
}

}  // namespace
}  // namespace shop
