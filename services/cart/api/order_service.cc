#include "services/cart/api/order_service.h"

#include "absl/strings/str_cat.h"
#include "common/eventstore/position_token.h"
#include "common/rpc/call_metadata.h"
#include "common/rpc/status_mapping.h"
#include "common/server/validation.h"
#include "common/util/proto_time.h"

namespace cart {
namespace {

// Order ids are "order-" and a cart id.
constexpr size_t kMaxOrderIdBytes = shop::kMaxIdBytes + 6;
constexpr size_t kMaxReasonBytes = 256;
constexpr int kMaxReturnLines = 100;
constexpr size_t kMaxWarehouseIdBytes = 64;
constexpr int kDefaultPageSize = 20;
constexpr int kMaxPageSize = 100;

absl::Status ValidateOrderId(const std::string& order_id) {
  if (order_id.size() > kMaxOrderIdBytes) {
    return shop::ValidateText("order_id", order_id, 1, kMaxOrderIdBytes);
  }
  // Up to the id limit the id rules apply; longer ids are cart ids' orders.
  return order_id.size() <= shop::kMaxIdBytes
             ? shop::ValidateId("order_id", order_id)
             : shop::ValidateText("order_id", order_id, 1, kMaxOrderIdBytes);
}

OrderStatus FromProto(v1::OrderStatus status) {
  switch (status) {
    case v1::ORDER_STATUS_PENDING:
      return OrderStatus::kPending;
    case v1::ORDER_STATUS_PROCESSING:
      return OrderStatus::kProcessing;
    case v1::ORDER_STATUS_SHIPPING:
      return OrderStatus::kShipping;
    case v1::ORDER_STATUS_SHIPPED:
      return OrderStatus::kShipped;
    case v1::ORDER_STATUS_DELIVERED:
      return OrderStatus::kDelivered;
    case v1::ORDER_STATUS_CANCELLING:
      return OrderStatus::kCancelling;
    case v1::ORDER_STATUS_CANCELLED:
      return OrderStatus::kCancelled;
    default:
      return OrderStatus::kNone;
  }
}

v1::OrderStatus ToProto(OrderStatus status) {
  switch (status) {
    case OrderStatus::kNone:
      return v1::ORDER_STATUS_UNSPECIFIED;
    case OrderStatus::kPending:
      return v1::ORDER_STATUS_PENDING;
    case OrderStatus::kProcessing:
      return v1::ORDER_STATUS_PROCESSING;
    case OrderStatus::kShipping:
      return v1::ORDER_STATUS_SHIPPING;
    case OrderStatus::kShipped:
      return v1::ORDER_STATUS_SHIPPED;
    case OrderStatus::kDelivered:
      return v1::ORDER_STATUS_DELIVERED;
    case OrderStatus::kCancelling:
      return v1::ORDER_STATUS_CANCELLING;
    case OrderStatus::kCancelled:
      return v1::ORDER_STATUS_CANCELLED;
  }
  return v1::ORDER_STATUS_UNSPECIFIED;
}

grpc::Status Answer(const absl::StatusOr<LoadedOrder>& loaded,
                    const std::string& order_id, v1::Order* response) {
  if (!loaded.ok()) return shop::ToGrpcStatus(loaded.status());
  ToProto(*loaded, order_id, response);
  return grpc::Status::OK;
}

// A transition's handler: headers and fields checked before anything
// runs, then `run` on the call's context, answered with the order.
template <typename Request, typename Run>
grpc::Status Transition(const grpc::ServerContext& context,
                        const Request& request,
                        const shop::IdentityPolicy& identity,
                        v1::Order* response, Run run) {
  if (absl::Status valid = shop::FirstError(
          {shop::ValidateCallHeaders(context, identity), Validate(request)});
      !valid.ok()) {
    return shop::ToGrpcStatus(valid);
  }
  return Answer(run(shop::ContextOf(context, request, identity)),
                request.order_id(), response);
}

}  // namespace

void ToProto(const LoadedOrder& loaded, const std::string& order_id,
             v1::Order* out) {
  const Order& order = loaded.order;
  out->set_order_id(order_id);
  out->set_customer_id(order.customer_id);
  out->set_cart_id(order.cart_id);
  out->set_status(ToProto(order.status));
  for (const v1::OrderLine& line : order.lines) *out->add_lines() = line;
  out->set_total_cents(order.total_cents);
  out->set_shipment_id(order.shipment_id);
  out->set_cancel_reason(order.cancel_reason);
  for (const OrderReturn& r : order.returns) {
    v1::OrderReturn* returned = out->add_returns();
    returned->set_return_id(r.started.return_id());
    *returned->mutable_lines() = r.started.lines();
    returned->set_refund_cents(r.started.refund_cents());
    returned->set_completed(r.completed);
    *returned->mutable_started_at() = shop::ToProto(r.started_at);
  }
  out->set_refunded_cents(order.refunded_cents());
  for (const StatusChange& change : order.history) {
    v1::StatusChange* entry = out->add_history();
    entry->set_status(ToProto(change.status));
    *entry->mutable_at() = shop::ToProto(change.at);
  }
  out->set_version(loaded.version);
  if (loaded.version > 0) {
    out->set_position(eventstore::EncodePositionToken(loaded.position));
  }
}

absl::Status Validate(const v1::GetOrderRequest& request) {
  return ValidateOrderId(request.order_id());
}

absl::Status Validate(const v1::ListOrdersRequest& request) {
  return shop::FirstError(
      {shop::ValidateId("customer_id", request.customer_id()),
       shop::ValidateEnum("status", request.status(),
                          v1::OrderStatus_IsValid(request.status()),
                          /*unspecified_allowed=*/true),
       shop::ValidateRange("page_size", request.page_size(), 0, kMaxPageSize),
       request.page_token().empty()
           ? absl::OkStatus()
           : eventstore::ParsePositionToken(request.page_token(), "page_token")
                 .status()});
}

absl::Status Validate(const v1::StartProcessingRequest& request) {
  return shop::FirstError(
      {ValidateOrderId(request.order_id()),
       shop::ValidateOptionalId("request_id", request.request_id()),
       shop::ValidateExpectedVersion(request)});
}

absl::Status Validate(const v1::ShipOrderRequest& request) {
  return shop::FirstError(
      {ValidateOrderId(request.order_id()),
       shop::ValidateId("shipment_id", request.shipment_id()),
       shop::ValidateExpectedVersion(request)});
}

absl::Status Validate(const v1::ConfirmDeliveryRequest& request) {
  return shop::FirstError(
      {ValidateOrderId(request.order_id()),
       shop::ValidateOptionalId("request_id", request.request_id()),
       shop::ValidateExpectedVersion(request)});
}

absl::Status Validate(const v1::CancelOrderRequest& request) {
  return shop::FirstError(
      {ValidateOrderId(request.order_id()),
       shop::ValidateText("reason", request.reason(), 0, kMaxReasonBytes),
       shop::ValidateOptionalId("request_id", request.request_id()),
       shop::ValidateExpectedVersion(request)});
}

absl::Status Validate(const v1::ReturnItemsRequest& request) {
  if (absl::Status valid =
          shop::FirstError({ValidateOrderId(request.order_id()),
                            shop::ValidateId("return_id", request.return_id()),
                            shop::ValidateRange("lines", request.lines_size(),
                                                1, kMaxReturnLines),
                            shop::ValidateExpectedVersion(request)});
      !valid.ok()) {
    return valid;
  }
  for (int i = 0; i < request.lines_size(); ++i) {
    const v1::ReturnedLine& line = request.lines(i);
    const std::string at = absl::StrCat("lines[", i, "].");
    if (absl::Status valid = shop::FirstError(
            {shop::ValidateId(at + "product_id", line.product_id()),
             shop::ValidateQuantity(at + "quantity", line.quantity()),
             shop::ValidateEnum(
                 at + "reason", line.reason(),
                 inventory::v1::ReturnReason_IsValid(line.reason()),
                 /*unspecified_allowed=*/true),
             shop::ValidateEnum(
                 at + "condition", line.condition(),
                 inventory::v1::ReturnCondition_IsValid(line.condition()),
                 /*unspecified_allowed=*/false),
             line.warehouse_id().empty()
                 ? absl::OkStatus()
                 : shop::ValidateSlug(at + "warehouse_id", line.warehouse_id(),
                                      kMaxWarehouseIdBytes)});
        !valid.ok()) {
      return valid;
    }
  }
  return absl::OkStatus();
}

grpc::Status OrderServiceImpl::GetOrder(grpc::ServerContext* /*context*/,
                                        const v1::GetOrderRequest* request,
                                        v1::Order* response) {
  if (absl::Status valid = Validate(*request); !valid.ok()) {
    return shop::ToGrpcStatus(valid);
  }
  return Answer(orders_->Get(request->order_id()), request->order_id(),
                response);
}

grpc::Status OrderServiceImpl::ListOrders(grpc::ServerContext* /*context*/,
                                          const v1::ListOrdersRequest* request,
                                          v1::ListOrdersResponse* response) {
  if (absl::Status valid = Validate(*request); !valid.ok()) {
    return shop::ToGrpcStatus(valid);
  }
  int64_t before = 0;
  if (!request->page_token().empty()) {
    before = eventstore::ParsePositionToken(request->page_token(), "page_token")
                 ->position;
  }
  absl::StatusOr<OrderPage> page = orders_->List(
      request->customer_id(), FromProto(request->status()),
      request->page_size() == 0 ? kDefaultPageSize : request->page_size(),
      before);
  if (!page.ok()) return shop::ToGrpcStatus(page.status());
  for (const auto& [order_id, loaded] : page->orders) {
    ToProto(loaded, order_id, response->add_orders());
  }
  if (page->next_before != 0) {
    response->set_next_page_token(eventstore::EncodePositionToken(
        eventstore::GlobalPosition{0, page->next_before}));
  }
  return grpc::Status::OK;
}

grpc::Status OrderServiceImpl::StartProcessing(
    grpc::ServerContext* context, const v1::StartProcessingRequest* request,
    v1::Order* response) {
  return Transition(*context, *request, identity_, response,
                    [&](const CallContext& call) {
                      return orders_->StartProcessing(
                          request->order_id(), request->request_id(), call);
                    });
}

grpc::Status OrderServiceImpl::ShipOrder(grpc::ServerContext* context,
                                         const v1::ShipOrderRequest* request,
                                         v1::Order* response) {
  return Transition(
      *context, *request, identity_, response, [&](const CallContext& call) {
        return orders_->Ship(request->order_id(), request->shipment_id(), call);
      });
}

grpc::Status OrderServiceImpl::ConfirmDelivery(
    grpc::ServerContext* context, const v1::ConfirmDeliveryRequest* request,
    v1::Order* response) {
  return Transition(*context, *request, identity_, response,
                    [&](const CallContext& call) {
                      return orders_->ConfirmDelivery(
                          request->order_id(), request->request_id(), call);
                    });
}

grpc::Status OrderServiceImpl::CancelOrder(
    grpc::ServerContext* context, const v1::CancelOrderRequest* request,
    v1::Order* response) {
  return Transition(
      *context, *request, identity_, response, [&](const CallContext& call) {
        return orders_->Cancel(request->order_id(), request->reason(),
                               request->request_id(), call);
      });
}

grpc::Status OrderServiceImpl::ReturnItems(
    grpc::ServerContext* context, const v1::ReturnItemsRequest* request,
    v1::Order* response) {
  return Transition(*context, *request, identity_, response,
                    [&](const CallContext& call) {
                      const std::vector<v1::ReturnedLine> lines(
                          request->lines().begin(), request->lines().end());
                      return orders_->Return(request->order_id(),
                                             request->return_id(), lines, call);
                    });
}

}  // namespace cart
