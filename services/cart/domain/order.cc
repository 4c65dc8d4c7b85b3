#include "services/cart/domain/order.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/errors/errors.h"
#include "common/util/event_codec.h"
#include "common/util/overloaded.h"
#include "google/protobuf/util/message_differencer.h"

namespace cart {
namespace {

// In the order of the OrderEvent variant's alternatives.
constexpr shop::EventCodec<OrderEvent> kCodec(
    "order.placed", "order.processing_started", "order.shipment_started",
    "order.shipped", "order.delivered", "order.cancellation_started",
    "order.cancelled", "order.return_started", "order.items_returned");

using Events = absl::StatusOr<std::vector<OrderEvent>>;

// FAILED_PRECONDITION / INVALID_STATUS_TRANSITION: "cannot ship order o-1:
// it is cancelled".
absl::Status InvalidTransition(absl::string_view what,
                               const std::string& order_id,
                               OrderStatus status) {
  return shop::MakeError(
      absl::StatusCode::kFailedPrecondition, kErrorDomain,
      "INVALID_STATUS_TRANSITION",
      absl::StrCat("cannot ", what, " order ", order_id, ": it is ",
                   NameOf(status)),
      {{"order_id", order_id}, {"status", std::string(NameOf(status))}});
}

Events None() { return std::vector<OrderEvent>{}; }

template <typename T>
Events One(T event) {
  return std::vector<OrderEvent>{OrderEvent(std::move(event))};
}

}  // namespace

absl::string_view TypeOf(const OrderEvent& event) {
  return kCodec.TypeOf(event);
}

std::string ToJson(const OrderEvent& event) { return kCodec.ToJson(event); }

absl::StatusOr<OrderEvent> OrderEventFromJson(absl::string_view type,
                                              absl::string_view json) {
  return kCodec.FromJson(type, json);
}

absl::string_view OrderPlacedType() { return kCodec.NameOf<v1::OrderPlaced>(); }

absl::string_view NameOf(OrderStatus status) {
  switch (status) {
    case OrderStatus::kNone:
      return "missing";
    case OrderStatus::kPending:
      return "pending";
    case OrderStatus::kProcessing:
      return "processing";
    case OrderStatus::kShipping:
      return "shipping";
    case OrderStatus::kShipped:
      return "shipped";
    case OrderStatus::kDelivered:
      return "delivered";
    case OrderStatus::kCancelling:
      return "cancelling";
    case OrderStatus::kCancelled:
      return "cancelled";
  }
  return "?";
}

int64_t Order::Bought(absl::string_view product_id) const {
  int64_t units = 0;
  for (const v1::OrderLine& line : lines) {
    if (line.product_id() == product_id) units += line.quantity();
  }
  return units;
}

int64_t Order::Returned(absl::string_view product_id) const {
  int64_t units = 0;
  for (const OrderReturn& r : returns) {
    for (const v1::ReturnedLine& line : r.started.lines()) {
      if (line.product_id() == product_id) units += line.quantity();
    }
  }
  return units;
}

std::vector<std::pair<std::string, int64_t>> Order::Products() const {
  std::vector<std::pair<std::string, int64_t>> products;
  for (const v1::OrderLine& line : lines) {
    auto it = std::find_if(products.begin(), products.end(), [&](auto& p) {
      return p.first == line.product_id();
    });
    if (it == products.end()) {
      products.emplace_back(line.product_id(), line.quantity());
    } else {
      it->second += line.quantity();
    }
  }
  return products;
}

const OrderReturn* Order::FindReturn(absl::string_view return_id) const {
  for (const OrderReturn& r : returns) {
    if (r.started.return_id() == return_id) return &r;
  }
  return nullptr;
}

int64_t Order::refunded_cents() const {
  int64_t cents = 0;
  for (const OrderReturn& r : returns) {
    if (r.completed) cents += r.started.refund_cents();
  }
  return cents;
}

Order Evolve(Order order, const OrderEvent& event, absl::Time at) {
  auto moved = [&](OrderStatus status) {
    order.status = status;
    order.history.push_back({status, at});
  };
  std::visit(
      shop::Overloaded{
          [&](const v1::OrderPlaced& e) {
            order.customer_id = e.customer_id();
            order.cart_id = e.cart_id();
            order.lines.assign(e.lines().begin(), e.lines().end());
            order.total_cents = e.total_cents();
            moved(OrderStatus::kPending);
          },
          [&](const v1::OrderProcessingStarted& e) {
            order.processing_request_id = e.request_id();
            moved(OrderStatus::kProcessing);
          },
          [&](const v1::OrderShipmentStarted& e) {
            order.shipment_id = e.shipment_id();
            moved(OrderStatus::kShipping);
          },
          [&](const v1::OrderShipped&) { moved(OrderStatus::kShipped); },
          [&](const v1::OrderDelivered& e) {
            order.delivery_request_id = e.request_id();
            moved(OrderStatus::kDelivered);
          },
          [&](const v1::OrderCancellationStarted& e) {
            order.cancel_reason = e.reason();
            order.cancel_request_id = e.request_id();
            moved(OrderStatus::kCancelling);
          },
          [&](const v1::OrderCancelled&) { moved(OrderStatus::kCancelled); },
          [&](const v1::OrderReturnStarted& e) {
            order.returns.push_back({e, false, at});
          },
          [&](const v1::OrderItemsReturned& e) {
            for (OrderReturn& r : order.returns) {
              if (r.started.return_id() == e.return_id()) r.completed = true;
            }
          },
      },
      event);
  return order;
}

absl::Status OrderNotFound(const std::string& order_id) {
  return shop::MakeError(
      absl::StatusCode::kNotFound, kErrorDomain, "ORDER_NOT_FOUND",
      absl::StrCat("order ", order_id, " not found"), {{"order_id", order_id}});
}

v1::OrderPlaced PlacedFrom(const std::string& cart_id, const Cart& cart) {
  v1::OrderPlaced placed;
  placed.set_customer_id(cart.customer_id);
  placed.set_cart_id(cart_id);
  for (const Item& item : cart.Items()) {
    // One line per product and price: the units of one product bought at
    // two prices stay apart, so a refund pays what was paid.
    for (const Line& line : item.lines) {
      v1::OrderLine* same = nullptr;
      for (v1::OrderLine& existing : *placed.mutable_lines()) {
        if (existing.product_id() == line.product_id &&
            existing.unit_price_cents() == line.unit_price_cents) {
          same = &existing;
        }
      }
      if (same == nullptr) {
        same = placed.add_lines();
        same->set_product_id(line.product_id);
        same->set_unit_price_cents(line.unit_price_cents);
      }
      same->set_quantity(same->quantity() + line.quantity);
      same->add_reservation_ids(line.reservation_id);
    }
  }
  placed.set_total_cents(cart.total_cents());
  return placed;
}

Events DecideStartProcessing(const std::string& order_id,
                             const std::string& request_id,
                             const Order& order) {
  if (!order.exists()) return OrderNotFound(order_id);
  if (order.status == OrderStatus::kPending) {
    v1::OrderProcessingStarted started;
    started.set_request_id(request_id);
    return One(std::move(started));
  }
  if (order.status == OrderStatus::kProcessing && !request_id.empty() &&
      order.processing_request_id == request_id) {
    return None();
  }
  return InvalidTransition("start processing", order_id, order.status);
}

Events DecideStartShipment(const std::string& order_id,
                           const std::string& shipment_id, const Order& order) {
  if (!order.exists()) return OrderNotFound(order_id);
  if (order.status == OrderStatus::kProcessing) {
    v1::OrderShipmentStarted started;
    started.set_shipment_id(shipment_id);
    return One(std::move(started));
  }
  if ((order.status == OrderStatus::kShipping ||
       order.status == OrderStatus::kShipped) &&
      order.shipment_id == shipment_id) {
    return None();
  }
  return InvalidTransition(absl::StrCat("ship (as ", shipment_id, ")"),
                           order_id, order.status);
}

Events DecideFinishShipment(const std::string& order_id, const Order& order) {
  if (order.status == OrderStatus::kShipped) return None();
  if (order.status != OrderStatus::kShipping) {
    return InvalidTransition("finish shipping", order_id, order.status);
  }
  v1::OrderShipped shipped;
  shipped.set_shipment_id(order.shipment_id);
  return One(std::move(shipped));
}

Events DecideConfirmDelivery(const std::string& order_id,
                             const std::string& request_id,
                             const Order& order) {
  if (!order.exists()) return OrderNotFound(order_id);
  if (order.status == OrderStatus::kShipped) {
    v1::OrderDelivered delivered;
    delivered.set_request_id(request_id);
    return One(std::move(delivered));
  }
  if (order.status == OrderStatus::kDelivered && !request_id.empty() &&
      order.delivery_request_id == request_id) {
    return None();
  }
  return InvalidTransition("confirm delivery of", order_id, order.status);
}

Events DecideStartCancellation(const std::string& order_id,
                               const std::string& reason,
                               const std::string& request_id,
                               const Order& order) {
  if (!order.exists()) return OrderNotFound(order_id);
  if (order.status == OrderStatus::kPending ||
      order.status == OrderStatus::kProcessing) {
    v1::OrderCancellationStarted started;
    started.set_reason(reason);
    started.set_request_id(request_id);
    return One(std::move(started));
  }
  // A cancellation under way is finished by whoever asks again.
  if (order.status == OrderStatus::kCancelling) return None();
  if (order.status == OrderStatus::kCancelled && !request_id.empty() &&
      order.cancel_request_id == request_id) {
    return None();
  }
  return InvalidTransition("cancel", order_id, order.status);
}

Events DecideFinishCancellation(const std::string& order_id,
                                const Order& order) {
  if (order.status == OrderStatus::kCancelled) return None();
  if (order.status != OrderStatus::kCancelling) {
    return InvalidTransition("finish cancelling", order_id, order.status);
  }
  v1::OrderCancelled cancelled;
  cancelled.set_reason(order.cancel_reason);
  return One(std::move(cancelled));
}

Events DecideStartReturn(const std::string& order_id,
                         const std::string& return_id,
                         const std::vector<v1::ReturnedLine>& lines,
                         const Order& order) {
  if (!order.exists()) return OrderNotFound(order_id);
  if (const OrderReturn* known = order.FindReturn(return_id)) {
    bool same =
        static_cast<size_t>(known->started.lines_size()) == lines.size();
    for (size_t i = 0; same && i < lines.size(); ++i) {
      same = google::protobuf::util::MessageDifferencer::Equals(
          known->started.lines(static_cast<int>(i)), lines[i]);
    }
    if (!same) {
      return shop::MakeError(
          absl::StatusCode::kFailedPrecondition, kErrorDomain,
          "RETURN_ID_REUSED",
          absl::StrCat("return ", return_id, " of order ", order_id,
                       " was made with other lines"),
          {{"order_id", order_id}, {"return_id", return_id}});
    }
    return None();
  }
  if (order.status != OrderStatus::kDelivered) {
    return InvalidTransition("return items of", order_id, order.status);
  }
  v1::OrderReturnStarted started;
  started.set_return_id(return_id);
  // Per product: what this return asks on top of the returns before.
  Order after = order;
  for (const v1::ReturnedLine& line : lines) {
    const int64_t bought = order.Bought(line.product_id());
    const int64_t returned = after.Returned(line.product_id());
    if (returned + line.quantity() > bought) {
      return shop::MakeError(
          absl::StatusCode::kFailedPrecondition, kErrorDomain,
          "RETURN_EXCEEDS_ORDER",
          absl::StrCat("order ", order_id, " holds ", bought, " of ",
                       line.product_id(), ", ", returned,
                       " returned already: cannot return ", line.quantity(),
                       " more"),
          {{"order_id", order_id},
           {"product_id", line.product_id()},
           {"bought", absl::StrCat(bought)},
           {"returned", absl::StrCat(returned)}});
    }
    // Refunded at the prices paid, the cheapest units last.
    int64_t to_refund = line.quantity();
    int64_t skip = returned;
    std::vector<v1::OrderLine> by_price;
    for (const v1::OrderLine& bought_line : order.lines) {
      if (bought_line.product_id() == line.product_id()) {
        by_price.push_back(bought_line);
      }
    }
    std::sort(by_price.begin(), by_price.end(),
              [](const auto& a, const auto& b) {
                return a.unit_price_cents() > b.unit_price_cents();
              });
    for (const v1::OrderLine& bought_line : by_price) {
      int64_t units = bought_line.quantity();
      const int64_t skipped = std::min(units, skip);
      skip -= skipped;
      units -= skipped;
      const int64_t taken = std::min(units, to_refund);
      to_refund -= taken;
      started.set_refund_cents(started.refund_cents() +
                               taken * bought_line.unit_price_cents());
    }
    *started.add_lines() = line;
    v1::OrderReturnStarted counted;
    *counted.add_lines() = line;
    after.returns.push_back({counted, false, absl::InfinitePast()});
  }
  return One(std::move(started));
}

Events DecideFinishReturn(const std::string& order_id,
                          const std::string& return_id, const Order& order) {
  const OrderReturn* known = order.FindReturn(return_id);
  if (known == nullptr) {
    return InvalidTransition(absl::StrCat("finish return ", return_id, " of"),
                             order_id, order.status);
  }
  if (known->completed) return None();
  v1::OrderItemsReturned returned;
  returned.set_return_id(return_id);
  returned.set_refund_cents(known->started.refund_cents());
  return One(std::move(returned));
}

std::string InventoryShipmentId(absl::string_view order_id,
                                absl::string_view shipment_id) {
  return StableId("sh", {order_id, shipment_id});
}

std::string InventoryReturnId(absl::string_view order_id,
                              absl::string_view return_id, size_t line) {
  return StableId("rt", {order_id, return_id, absl::StrCat(line)});
}

}  // namespace cart
