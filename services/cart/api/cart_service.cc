#include "services/cart/api/cart_service.h"

#include <limits>

#include "common/eventstore/position_token.h"
#include "common/rpc/call_metadata.h"
#include "common/rpc/status_mapping.h"
#include "common/server/history.h"
#include "common/server/validation.h"
#include "common/util/proto_time.h"

namespace cart {
namespace {

// The cart's version after the call, and the feed position of what it
// wrote.
template <typename Outcome, typename Response>
void SetWritten(const Outcome& outcome, Response* response) {
  response->set_version(outcome.version);
  if (outcome.position.has_value()) {
    response->set_position(eventstore::EncodePositionToken(*outcome.position));
  }
}

void ToProto(const Item& item, const Cart& cart, v1::CartItem* out) {
  out->set_product_id(item.product_id);
  out->set_quantity(item.quantity);
  out->set_reservation_id(item.lines.front().reservation_id);
  out->set_unit_price_cents(item.lines.back().unit_price_cents);
  out->set_subtotal_cents(item.subtotal_cents);
  for (const Line& line : item.lines) {
    v1::Reservation* reservation = out->add_reservations();
    reservation->set_reservation_id(line.reservation_id);
    reservation->set_quantity(line.quantity);
    reservation->set_unit_price_cents(line.unit_price_cents);
    reservation->set_sold(cart.IsSold(line.reservation_id));
  }
}

// Inventory's own limit for a warehouse id, checked here so that a bad one
// reserves nothing.
constexpr size_t kMaxWarehouseIdBytes = 64;

}  // namespace

absl::Status Validate(const v1::CreateCartRequest& request) {
  return shop::FirstError(
      {shop::ValidateId("cart_id", request.cart_id()),
       shop::ValidateId("customer_id", request.customer_id())});
}

absl::Status Validate(const v1::AddItemRequest& request) {
  return shop::FirstError(
      {shop::ValidateId("cart_id", request.cart_id()),
       shop::ValidateId("product_id", request.product_id()),
       shop::ValidateQuantity("quantity", request.quantity()),
       shop::ValidateOptionalId("request_id", request.request_id()),
       request.warehouse_id().empty()
           ? absl::OkStatus()
           : shop::ValidateSlug("warehouse_id", request.warehouse_id(),
                                kMaxWarehouseIdBytes),
       shop::ValidateExpectedVersion(request)});
}

absl::Status Validate(const v1::UpdateItemQuantityRequest& request) {
  return shop::FirstError(
      {shop::ValidateId("cart_id", request.cart_id()),
       shop::ValidateId("product_id", request.product_id()),
       shop::ValidateRange("quantity", request.quantity(), 0,
                           shop::kMaxQuantity),
       shop::ValidateOptionalId("request_id", request.request_id()),
       shop::ValidateExpectedVersion(request)});
}

absl::Status Validate(const v1::RemoveItemRequest& request) {
  return shop::FirstError({shop::ValidateId("cart_id", request.cart_id()),
                           shop::ValidateId("product_id", request.product_id()),
                           shop::ValidateExpectedVersion(request)});
}

absl::Status Validate(const v1::GetCartRequest& request) {
  return shop::ValidateId("cart_id", request.cart_id());
}

absl::Status Validate(const v1::ListCartEventsRequest& request) {
  return shop::FirstError(
      {shop::ValidateId("cart_id", request.cart_id()),
       shop::ValidateRange("from_version", request.from_version(), 0,
                           std::numeric_limits<int64_t>::max()),
       shop::ValidateRange("max_count", request.max_count(), 0,
                           shop::kMaxHistoryPage)});
}

absl::Status Validate(const v1::CheckoutRequest& request) {
  return shop::FirstError({shop::ValidateId("cart_id", request.cart_id()),
                           shop::ValidateExpectedVersion(request)});
}

grpc::Status CartServiceImpl::CreateCart(grpc::ServerContext* context,
                                         const v1::CreateCartRequest* request,
                                         v1::CreateCartResponse* response) {
  if (absl::Status valid = shop::FirstError(
          {shop::ValidateCallHeaders(*context, identity_), Validate(*request)});
      !valid.ok()) {
    return shop::ToGrpcStatus(valid);
  }
  CallContext call;
  call.metadata = shop::MetadataFromCall(*context, identity_);
  call.deadline = shop::DeadlineOf(*context);
  absl::StatusOr<CartOutcome> outcome =
      carts_->Create(request->cart_id(), request->customer_id(), call);
  if (!outcome.ok()) return shop::ToGrpcStatus(outcome.status());
  response->set_cart_id(request->cart_id());
  SetWritten(*outcome, response);
  return grpc::Status::OK;
}

grpc::ServerUnaryReactor* CartServiceImpl::AddItem(
    grpc::CallbackServerContext* context, const v1::AddItemRequest* request,
    v1::AddItemResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (absl::Status valid = shop::FirstError(
          {shop::ValidateCallHeaders(*context, identity_), Validate(*request)});
      !valid.ok()) {
    reactor->Finish(shop::ToGrpcStatus(valid));
    return reactor;
  }
  carts_->AddItem(
      request->cart_id(), request->product_id(), request->quantity(),
      request->warehouse_id(), request->request_id(),
      shop::ContextOf(*context, *request, identity_),
      [reactor, request, response](absl::StatusOr<AddItemOutcome> outcome) {
        if (!outcome.ok()) {
          reactor->Finish(shop::ToGrpcStatus(outcome.status()));
          return;
        }
        for (const Item& item : outcome->cart.Items()) {
          if (item.product_id == request->product_id()) {
            ToProto(item, outcome->cart, response->mutable_item());
          }
        }
        response->set_reservation_id(outcome->line.reservation_id);
        if (outcome->reservation_expires_at.has_value()) {
          *response->mutable_reservation_expires_at() =
              shop::ToProto(*outcome->reservation_expires_at);
        }
        SetWritten(*outcome, response);
        reactor->Finish(grpc::Status::OK);
      });
  return reactor;
}

grpc::Status CartServiceImpl::RemoveItem(grpc::ServerContext* context,
                                         const v1::RemoveItemRequest* request,
                                         v1::RemoveItemResponse* response) {
  if (absl::Status valid = shop::FirstError(
          {shop::ValidateCallHeaders(*context, identity_), Validate(*request)});
      !valid.ok()) {
    return shop::ToGrpcStatus(valid);
  }
  absl::StatusOr<CartOutcome> outcome =
      carts_->RemoveItem(request->cart_id(), request->product_id(),
                         shop::ContextOf(*context, *request, identity_));
  if (!outcome.ok()) return shop::ToGrpcStatus(outcome.status());
  SetWritten(*outcome, response);
  return grpc::Status::OK;
}

grpc::Status CartServiceImpl::UpdateItemQuantity(
    grpc::ServerContext* context, const v1::UpdateItemQuantityRequest* request,
    v1::UpdateItemQuantityResponse* response) {
  if (absl::Status valid = shop::FirstError(
          {shop::ValidateCallHeaders(*context, identity_), Validate(*request)});
      !valid.ok()) {
    return shop::ToGrpcStatus(valid);
  }
  absl::StatusOr<CartOutcome> outcome = carts_->UpdateItemQuantity(
      request->cart_id(), request->product_id(), request->quantity(),
      request->request_id(), shop::ContextOf(*context, *request, identity_));
  if (!outcome.ok()) return shop::ToGrpcStatus(outcome.status());
  for (const Item& item : outcome->cart.Items()) {
    if (item.product_id == request->product_id()) {
      ToProto(item, outcome->cart, response->mutable_item());
    }
  }
  SetWritten(*outcome, response);
  return grpc::Status::OK;
}

grpc::Status CartServiceImpl::GetCart(grpc::ServerContext* /*context*/,
                                      const v1::GetCartRequest* request,
                                      v1::GetCartResponse* response) {
  if (absl::Status valid = Validate(*request); !valid.ok()) {
    return shop::ToGrpcStatus(valid);
  }
  absl::StatusOr<LoadedCart> loaded = carts_->Get(request->cart_id());
  if (!loaded.ok()) return shop::ToGrpcStatus(loaded.status());
  const Cart& cart = loaded->cart;
  response->set_cart_id(request->cart_id());
  response->set_customer_id(cart.customer_id);
  for (const Item& item : cart.Items()) {
    ToProto(item, cart, response->add_items());
  }
  response->set_total_cents(cart.total_cents());
  response->set_version(loaded->version);
  response->set_checked_out(cart.checked_out);
  response->set_checkout_in_progress(cart.checkout_started);
  response->set_order_id(cart.order_id);
  return grpc::Status::OK;
}

grpc::Status CartServiceImpl::ListCartEvents(
    grpc::ServerContext* /*context*/, const v1::ListCartEventsRequest* request,
    v1::ListCartEventsResponse* response) {
  if (absl::Status valid = Validate(*request); !valid.ok()) {
    return shop::ToGrpcStatus(valid);
  }
  const int page = request->max_count() == 0 ? shop::kDefaultHistoryPage
                                             : request->max_count();
  absl::StatusOr<std::vector<eventstore::RecordedEvent>> events =
      carts_->ListEvents(request->cart_id(),
                         std::max<int64_t>(request->from_version(), 1), page);
  if (!events.ok()) return shop::ToGrpcStatus(events.status());
  shop::FillHistory(*events, page, response);
  return grpc::Status::OK;
}

grpc::Status CartServiceImpl::Checkout(grpc::ServerContext* context,
                                       const v1::CheckoutRequest* request,
                                       v1::CheckoutResponse* response) {
  if (absl::Status valid = shop::FirstError(
          {shop::ValidateCallHeaders(*context, identity_), Validate(*request)});
      !valid.ok()) {
    return shop::ToGrpcStatus(valid);
  }
  absl::StatusOr<CartOutcome> outcome = carts_->Checkout(
      request->cart_id(), shop::ContextOf(*context, *request, identity_));
  if (!outcome.ok()) return shop::ToGrpcStatus(outcome.status());
  response->set_order_id(outcome->cart.order_id);
  SetWritten(*outcome, response);
  response->set_total_cents(outcome->cart.total_cents());
  return grpc::Status::OK;
}

}  // namespace cart
