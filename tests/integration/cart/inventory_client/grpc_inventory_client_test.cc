#include "services/cart/inventory_client/grpc_inventory_client.h"

#include <memory>
#include <optional>
#include <string>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "inventory/v1/inventory.grpc.pb.h"
#include "tests/support/status_matchers.h"

namespace cart {
namespace {

using ::shop::testing::StatusIs;

// An inventory that never answers a reservation before its caller gives up.
class SilentInventory final : public inventory::v1::InventoryService::Service {
 public:
  grpc::Status ReserveStock(grpc::ServerContext* context,
                            const inventory::v1::ReserveStockRequest*,
                            inventory::v1::ReserveStockResponse*) override {
    const absl::Time give_up = absl::Now() + absl::Seconds(10);
    while (!context->IsCancelled() && absl::Now() < give_up) {
      absl::SleepFor(absl::Milliseconds(5));
    }
    return grpc::Status(grpc::StatusCode::CANCELLED, "caller gone");
  }
};

class GrpcInventoryClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                             &port_);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
  }
  void TearDown() override { server_->Shutdown(); }

  absl::Status Reserve(absl::Duration own, std::optional<absl::Time> callers) {
    GrpcInventoryClient client(
        grpc::CreateChannel("127.0.0.1:" + std::to_string(port_),
                            grpc::InsecureChannelCredentials()),
        own);
    absl::Notification done;
    absl::Status result;
    client.Reserve("shoe", 1, "r-1", 60, "", InventoryCall{{}, callers},
                   [&](absl::StatusOr<inventory::v1::ReserveStockResponse> r) {
                     result = r.status();
                     done.Notify();
                   });
    done.WaitForNotification();
    return result;
  }

  SilentInventory service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

// Inventory not answering within the cart's own bound is UNAVAILABLE: the
// caller did nothing wrong, retrying may help.
TEST_F(GrpcInventoryClientTest, OwnBoundPassingIsUnavailable) {
  EXPECT_THAT(Reserve(absl::Milliseconds(200), std::nullopt),
              StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(Reserve(absl::Milliseconds(200), absl::Now() + absl::Seconds(5)),
              StatusIs(absl::StatusCode::kUnavailable));
}

// The caller's deadline, sooner than the cart's own, bounds the call and
// passing it is DEADLINE_EXCEEDED.
TEST_F(GrpcInventoryClientTest, CallersDeadlineBoundsTheCall) {
  const absl::Time start = absl::Now();
  EXPECT_THAT(Reserve(absl::Seconds(5), start + absl::Milliseconds(200)),
              StatusIs(absl::StatusCode::kDeadlineExceeded));
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
}

}  // namespace
}  // namespace cart
