#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "cart/v1/order_events.pb.h"
#include "services/cart/domain/cart.h"

// The order domain: order events, the fold, and the state machine. Pure.
// A transition that moves stock in inventory is claimed by one event and
// finished by another, so that no other transition starts in between.
namespace cart {

using OrderEvent =
    std::variant<v1::OrderPlaced, v1::OrderProcessingStarted,
                 v1::OrderShipmentStarted, v1::OrderShipped, v1::OrderDelivered,
                 v1::OrderCancellationStarted, v1::OrderCancelled,
                 v1::OrderReturnStarted, v1::OrderItemsReturned>;

absl::string_view TypeOf(const OrderEvent& event);
std::string ToJson(const OrderEvent& event);
absl::StatusOr<OrderEvent> OrderEventFromJson(absl::string_view type,
                                              absl::string_view json);
// The stored type of the event that places an order, which the store's
// index and queries select by.
absl::string_view OrderPlacedType();

enum class OrderStatus {
  kNone,  // no such order
  kPending,
  kProcessing,
  kShipping,
  kShipped,
  kDelivered,
  kCancelling,
  kCancelled,
};

// "pending", "processing", ... as messages name them.
absl::string_view NameOf(OrderStatus status);

struct StatusChange {
  OrderStatus status = OrderStatus::kNone;
  absl::Time at;
};

struct OrderReturn {
  v1::OrderReturnStarted started;
  bool completed = false;
  absl::Time started_at;
};

struct Order {
  OrderStatus status = OrderStatus::kNone;
  std::string customer_id;
  std::string cart_id;
  std::vector<v1::OrderLine> lines;
  int64_t total_cents = 0;
  std::string shipment_id;
  std::string cancel_reason;
  // The request ids that made each of these transitions, for repeats.
  std::string processing_request_id;
  std::string delivery_request_id;
  std::string cancel_request_id;
  std::vector<OrderReturn> returns;
  std::vector<StatusChange> history;

  bool exists() const { return status != OrderStatus::kNone; }
  // Units of `product_id` the order holds, and those returned or being
  // returned.
  int64_t Bought(absl::string_view product_id) const;
  int64_t Returned(absl::string_view product_id) const;
  // Every product of the order once, in the order of its lines, with its
  // units: what inventory ships or gives back per product.
  std::vector<std::pair<std::string, int64_t>> Products() const;
  const OrderReturn* FindReturn(absl::string_view return_id) const;
  int64_t refunded_cents() const;
};

// `at` is when the event was recorded.
Order Evolve(Order order, const OrderEvent& event, absl::Time at);

// NOT_FOUND / ORDER_NOT_FOUND.
absl::Status OrderNotFound(const std::string& order_id);

// order.placed from a cart whose every line was sold.
v1::OrderPlaced PlacedFrom(const std::string& cart_id, const Cart& cart);

// Each Decide returns the events to append: none when the command is a
// repeat of the transition already made (or of the claim in progress, for
// a Start), FAILED_PRECONDITION / INVALID_STATUS_TRANSITION when the
// order's status does not allow it.
absl::StatusOr<std::vector<OrderEvent>> DecideStartProcessing(
    const std::string& order_id, const std::string& request_id,
    const Order& order);
absl::StatusOr<std::vector<OrderEvent>> DecideStartShipment(
    const std::string& order_id, const std::string& shipment_id,
    const Order& order);
// After inventory shipped every product under the order's shipment.
absl::StatusOr<std::vector<OrderEvent>> DecideFinishShipment(
    const std::string& order_id, const Order& order);
absl::StatusOr<std::vector<OrderEvent>> DecideConfirmDelivery(
    const std::string& order_id, const std::string& request_id,
    const Order& order);
absl::StatusOr<std::vector<OrderEvent>> DecideStartCancellation(
    const std::string& order_id, const std::string& reason,
    const std::string& request_id, const Order& order);
// After inventory gave every product's committed units back.
absl::StatusOr<std::vector<OrderEvent>> DecideFinishCancellation(
    const std::string& order_id, const Order& order);
// Refuses more units of a product than the order holds, counting the
// returns before; the same return id again must name the same lines.
absl::StatusOr<std::vector<OrderEvent>> DecideStartReturn(
    const std::string& order_id, const std::string& return_id,
    const std::vector<v1::ReturnedLine>& lines, const Order& order);
// After inventory took every line of the return back.
absl::StatusOr<std::vector<OrderEvent>> DecideFinishReturn(
    const std::string& order_id, const std::string& return_id,
    const Order& order);

// The ids inventory knows an order's movements by. Inventory's ids are
// unique per product, across orders; these are unique per order too, so
// two orders naming the same shipment or return id never collide. A return
// line has its own (one product may come back in two conditions).
std::string InventoryShipmentId(absl::string_view order_id,
                                absl::string_view shipment_id);
std::string InventoryReturnId(absl::string_view order_id,
                              absl::string_view return_id, size_t line);

}  // namespace cart
