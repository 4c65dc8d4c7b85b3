#pragma once

#include <utility>

#include "absl/status/status.h"
#include "cart/v1/order.grpc.pb.h"
#include "common/rpc/call_metadata.h"
#include "services/cart/app/orders.h"

namespace cart {

// gRPC handlers of cart.v1.OrderService: validate every field, call the
// use case, map the result. Blocking: a transition waits for inventory.
class OrderServiceImpl final : public v1::OrderService::Service {
 public:
  explicit OrderServiceImpl(Orders* orders, shop::IdentityPolicy identity = {})
      : orders_(orders), identity_(std::move(identity)) {}

  grpc::Status GetOrder(grpc::ServerContext* context,
                        const v1::GetOrderRequest* request,
                        v1::Order* response) override;
  grpc::Status ListOrders(grpc::ServerContext* context,
                          const v1::ListOrdersRequest* request,
                          v1::ListOrdersResponse* response) override;
  grpc::Status StartProcessing(grpc::ServerContext* context,
                               const v1::StartProcessingRequest* request,
                               v1::Order* response) override;
  grpc::Status ShipOrder(grpc::ServerContext* context,
                         const v1::ShipOrderRequest* request,
                         v1::Order* response) override;
  grpc::Status ConfirmDelivery(grpc::ServerContext* context,
                               const v1::ConfirmDeliveryRequest* request,
                               v1::Order* response) override;
  grpc::Status CancelOrder(grpc::ServerContext* context,
                           const v1::CancelOrderRequest* request,
                           v1::Order* response) override;
  grpc::Status ReturnItems(grpc::ServerContext* context,
                           const v1::ReturnItemsRequest* request,
                           v1::Order* response) override;

 private:
  Orders* orders_;
  const shop::IdentityPolicy identity_;
};

// Field checks, exposed for unit tests. Each names the offending field.
absl::Status Validate(const v1::GetOrderRequest& request);
absl::Status Validate(const v1::ListOrdersRequest& request);
absl::Status Validate(const v1::StartProcessingRequest& request);
absl::Status Validate(const v1::ShipOrderRequest& request);
absl::Status Validate(const v1::ConfirmDeliveryRequest& request);
absl::Status Validate(const v1::CancelOrderRequest& request);
absl::Status Validate(const v1::ReturnItemsRequest& request);

// The order as the API shows it.
void ToProto(const LoadedOrder& loaded, const std::string& order_id,
             v1::Order* out);

}  // namespace cart
