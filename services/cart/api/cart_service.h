#pragma once

#include <utility>

#include "absl/status/status.h"
#include "cart/v1/cart.grpc.pb.h"
#include "common/eventstore/feed.h"
#include "common/rpc/call_metadata.h"
#include "services/cart/app/cart_history.h"
#include "services/cart/app/cart_reports.h"
#include "services/cart/app/carts.h"

namespace cart {

// gRPC handlers: validate every field, call the use case, map the result.
// AddItem answers from the use case's callback, holding no thread while it
// waits for inventory and its append; the others are blocking handlers.
class CartServiceImpl final
    : public v1::CartService::WithCallbackMethod_AddItem<
          v1::CartService::WithCallbackMethod_Subscribe<
              v1::CartService::Service>> {
 public:
  CartServiceImpl(Carts* carts, CartHistory* history, CartReports* reports,
                  eventstore::Feed* feed, shop::IdentityPolicy identity = {})
      : carts_(carts),
        history_(history),
        reports_(reports),
        feed_(feed),
        identity_(std::move(identity)) {}

  grpc::Status CreateCart(grpc::ServerContext* context,
                          const v1::CreateCartRequest* request,
                          v1::CreateCartResponse* response) override;
  grpc::ServerUnaryReactor* AddItem(grpc::CallbackServerContext* context,
                                    const v1::AddItemRequest* request,
                                    v1::AddItemResponse* response) override;
  grpc::Status RemoveItem(grpc::ServerContext* context,
                          const v1::RemoveItemRequest* request,
                          v1::RemoveItemResponse* response) override;
  grpc::Status UpdateItemQuantity(
      grpc::ServerContext* context,
      const v1::UpdateItemQuantityRequest* request,
      v1::UpdateItemQuantityResponse* response) override;
  grpc::Status GetCart(grpc::ServerContext* context,
                       const v1::GetCartRequest* request,
                       v1::GetCartResponse* response) override;
  grpc::Status ListCartEvents(grpc::ServerContext* context,
                              const v1::ListCartEventsRequest* request,
                              v1::ListCartEventsResponse* response) override;
  grpc::Status Checkout(grpc::ServerContext* context,
                        const v1::CheckoutRequest* request,
                        v1::CheckoutResponse* response) override;
  grpc::Status ListEventsByCorrelation(
      grpc::ServerContext* context,
      const v1::ListEventsByCorrelationRequest* request,
      v1::ListEventsByCorrelationResponse* response) override;
  grpc::ServerWriteReactor<v1::SubscribeResponse>* Subscribe(
      grpc::CallbackServerContext* context,
      const v1::SubscribeRequest* request) override;
  grpc::Status ListCarts(grpc::ServerContext* context,
                         const v1::ListCartsRequest* request,
                         v1::ListCartsResponse* response) override;
  grpc::Status GetSalesByDay(grpc::ServerContext* context,
                             const v1::GetSalesByDayRequest* request,
                             v1::GetSalesByDayResponse* response) override;

 private:
  Carts* carts_;
  CartHistory* history_;
  CartReports* reports_;
  eventstore::Feed* feed_;
  const shop::IdentityPolicy identity_;
};

// Field checks, exposed for unit tests. Each names the offending field.
absl::Status Validate(const v1::CreateCartRequest& request);
absl::Status Validate(const v1::AddItemRequest& request);
absl::Status Validate(const v1::RemoveItemRequest& request);
absl::Status Validate(const v1::UpdateItemQuantityRequest& request);
absl::Status Validate(const v1::GetCartRequest& request);
absl::Status Validate(const v1::ListCartEventsRequest& request);
absl::Status Validate(const v1::CheckoutRequest& request);
absl::Status Validate(const v1::ListEventsByCorrelationRequest& request);
absl::Status Validate(const v1::ListCartsRequest& request);
absl::Status Validate(const v1::GetSalesByDayRequest& request);

}  // namespace cart
