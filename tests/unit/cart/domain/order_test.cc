#include "services/cart/domain/order.h"

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/status_matchers.h"

namespace cart {
namespace {

using ::shop::testing::StatusIs;
using ::testing::HasSubstr;

const absl::Time kAt = absl::FromUnixSeconds(1'800'000'000);

Order Apply(Order order,
            const absl::StatusOr<std::vector<OrderEvent>>& events) {
  EXPECT_TRUE(events.ok()) << events.status();
  if (!events.ok()) return order;
  for (const OrderEvent& event : *events) {
    order = Evolve(std::move(order), event, kAt);
  }
  return order;
}

// An order placed from a cart of 2 boots at 50.00 and 1 hat at 20.00.
Order Placed() {
  Cart cart;
  cart.exists = true;
  cart.customer_id = "alice";
  cart.lines = {{"r-1", "boot", 2, 5000, {}}, {"r-2", "hat", 1, 2000, {}}};
  return Evolve(Order(), PlacedFrom("c-1", cart), kAt);
}

// The order in each status, reached through the transitions.
Order InStatus(OrderStatus status) {
  Order order = Placed();
  auto step = [&](auto decided) { order = Apply(std::move(order), decided); };
  switch (status) {
    case OrderStatus::kNone:
      return Order();
    case OrderStatus::kPending:
      return order;
    case OrderStatus::kCancelling:
      step(DecideStartCancellation("o", "changed mind", "q-c", order));
      return order;
    case OrderStatus::kCancelled:
      step(DecideStartCancellation("o", "changed mind", "q-c", order));
      step(DecideFinishCancellation("o", order));
      return order;
    default:
      break;
  }
  step(DecideStartProcessing("o", "q-p", order));
  if (status == OrderStatus::kProcessing) return order;
  step(DecideStartShipment("o", "s-1", order));
  if (status == OrderStatus::kShipping) return order;
  step(DecideFinishShipment("o", order));
  if (status == OrderStatus::kShipped) return order;
  step(DecideConfirmDelivery("o", "q-d", order));
  return order;
}

constexpr OrderStatus kEveryStatus[] = {
    OrderStatus::kPending,  OrderStatus::kProcessing, OrderStatus::kShipping,
    OrderStatus::kShipped,  OrderStatus::kDelivered,  OrderStatus::kCancelling,
    OrderStatus::kCancelled};

v1::ReturnedLine Returned(const std::string& product, int64_t quantity) {
  v1::ReturnedLine line;
  line.set_product_id(product);
  line.set_quantity(quantity);
  line.set_condition(inventory::v1::RETURN_CONDITION_RESELLABLE);
  return line;
}

// The placed order copies the cart: lines per product and price, the
// reservations behind them, the total.
TEST(OrderTest, PlacedCopiesTheCart) {
  const Order order = Placed();
  EXPECT_EQ(order.status, OrderStatus::kPending);
  EXPECT_EQ(order.customer_id, "alice");
  EXPECT_EQ(order.cart_id, "c-1");
  ASSERT_EQ(order.lines.size(), 2u);
  EXPECT_EQ(order.lines[0].product_id(), "boot");
  EXPECT_EQ(order.lines[0].quantity(), 2);
  EXPECT_THAT(order.lines[0].reservation_ids(), ::testing::ElementsAre("r-1"));
  EXPECT_EQ(order.total_cents, 12000);
  EXPECT_EQ(order.Bought("boot"), 2);
  ASSERT_EQ(order.history.size(), 1u);
  EXPECT_EQ(order.history[0].at, kAt);
}

// Every command in every status: the table of DESIGN.md allows it (events),
// or refuses it with INVALID_STATUS_TRANSITION naming both states.
TEST(OrderTest, EveryTransitionTheTableAllowsAndNoOther) {
  using Decide =
      std::function<absl::StatusOr<std::vector<OrderEvent>>(const Order&)>;
  const std::map<std::string, Decide> commands = {
      {"start processing",
       [](const Order& o) { return DecideStartProcessing("o", "new", o); }},
      {"ship",
       [](const Order& o) { return DecideStartShipment("o", "s-new", o); }},
      {"confirm delivery of",
       [](const Order& o) { return DecideConfirmDelivery("o", "new", o); }},
      {"cancel",
       [](const Order& o) {
         return DecideStartCancellation("o", "why", "new", o);
       }},
      {"return items of",
       [](const Order& o) {
         return DecideStartReturn("o", "ret-new", {Returned("hat", 1)}, o);
       }},
  };
  const std::map<std::string, std::vector<OrderStatus>> allowed = {
      {"start processing", {OrderStatus::kPending}},
      {"ship", {OrderStatus::kProcessing}},
      {"confirm delivery of", {OrderStatus::kShipped}},
      {"cancel", {OrderStatus::kPending, OrderStatus::kProcessing}},
      {"return items of", {OrderStatus::kDelivered}},
  };
  for (const auto& [name, decide] : commands) {
    for (OrderStatus status : kEveryStatus) {
      SCOPED_TRACE(absl::StrCat(name, " when ", NameOf(status)));
      const absl::StatusOr<std::vector<OrderEvent>> events =
          decide(InStatus(status));
      const std::vector<OrderStatus>& ok = allowed.at(name);
      const bool expected = std::find(ok.begin(), ok.end(), status) != ok.end();
      // Cancelling again helps a cancellation under way to finish.
      if (name == "cancel" && status == OrderStatus::kCancelling) {
        ASSERT_TRUE(events.ok()) << events.status();
        EXPECT_TRUE(events->empty());
        continue;
      }
      if (expected) {
        ASSERT_TRUE(events.ok()) << events.status();
        EXPECT_EQ(events->size(), 1u);
      } else {
        EXPECT_THAT(events, StatusIs(absl::StatusCode::kFailedPrecondition,
                                     "INVALID_STATUS_TRANSITION"));
        EXPECT_THAT(events.status().message(),
                    HasSubstr(absl::StrCat("order o: it is ", NameOf(status))));
      }
    }
  }
  EXPECT_THAT(DecideStartProcessing("o", "", Order()),
              StatusIs(absl::StatusCode::kNotFound, "ORDER_NOT_FOUND"));
}

// The transitions in their order move the status and keep its history.
TEST(OrderTest, TheWholeLifeKeepsItsHistory) {
  const Order delivered = InStatus(OrderStatus::kDelivered);
  std::vector<OrderStatus> statuses;
  for (const StatusChange& change : delivered.history) {
    statuses.push_back(change.status);
  }
  EXPECT_THAT(statuses, ::testing::ElementsAre(
                            OrderStatus::kPending, OrderStatus::kProcessing,
                            OrderStatus::kShipping, OrderStatus::kShipped,
                            OrderStatus::kDelivered));
  EXPECT_EQ(delivered.shipment_id, "s-1");
  const Order cancelled = InStatus(OrderStatus::kCancelled);
  EXPECT_EQ(cancelled.cancel_reason, "changed mind");
}

// A repeat with the request id (or shipment id) that made the transition
// is a no-op; another id is a transition the status refuses.
TEST(OrderTest, RepeatsAreNoOpsByTheirIds) {
  const Order processing = InStatus(OrderStatus::kProcessing);
  EXPECT_TRUE(DecideStartProcessing("o", "q-p", processing)->empty());
  EXPECT_FALSE(DecideStartProcessing("o", "q-other", processing).ok());
  EXPECT_FALSE(DecideStartProcessing("o", "", processing).ok());

  const Order shipping = InStatus(OrderStatus::kShipping);
  EXPECT_TRUE(DecideStartShipment("o", "s-1", shipping)->empty());
  EXPECT_THAT(DecideStartShipment("o", "s-2", shipping),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  const Order shipped = InStatus(OrderStatus::kShipped);
  EXPECT_TRUE(DecideStartShipment("o", "s-1", shipped)->empty());
  EXPECT_TRUE(DecideFinishShipment("o", shipped)->empty());

  const Order delivered = InStatus(OrderStatus::kDelivered);
  EXPECT_TRUE(DecideConfirmDelivery("o", "q-d", delivered)->empty());
  EXPECT_FALSE(DecideConfirmDelivery("o", "q-x", delivered).ok());

  const Order cancelled = InStatus(OrderStatus::kCancelled);
  EXPECT_TRUE(DecideStartCancellation("o", "why", "q-c", cancelled)->empty());
  EXPECT_FALSE(DecideStartCancellation("o", "why", "q-x", cancelled).ok());
  EXPECT_TRUE(DecideFinishCancellation("o", cancelled)->empty());
}

// Returns: never more than bought, counting returns before and lines of
// the same return; the refund pays the prices paid; the same return id
// again is a no-op, with other lines a refusal.
TEST(OrderTest, ReturnsNeverExceedTheOrder) {
  Order order = InStatus(OrderStatus::kDelivered);
  absl::StatusOr<std::vector<OrderEvent>> first =
      DecideStartReturn("o", "ret-1", {Returned("boot", 1)}, order);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(std::get<v1::OrderReturnStarted>((*first)[0]).refund_cents(), 5000);
  order = Apply(std::move(order), first);
  EXPECT_EQ(order.Returned("boot"), 1);
  EXPECT_EQ(order.refunded_cents(), 0);  // not until inventory took it
  order = Apply(std::move(order), DecideFinishReturn("o", "ret-1", order));
  EXPECT_EQ(order.refunded_cents(), 5000);
  EXPECT_TRUE(DecideFinishReturn("o", "ret-1", order)->empty());

  EXPECT_TRUE(
      DecideStartReturn("o", "ret-1", {Returned("boot", 1)}, order)->empty());
  EXPECT_THAT(
      DecideStartReturn("o", "ret-1", {Returned("boot", 2)}, order),
      StatusIs(absl::StatusCode::kFailedPrecondition, "RETURN_ID_REUSED"));
  EXPECT_THAT(
      DecideStartReturn("o", "ret-2", {Returned("boot", 2)}, order),
      StatusIs(absl::StatusCode::kFailedPrecondition, "RETURN_EXCEEDS_ORDER"));
  // Two lines of one product in one return count together.
  EXPECT_THAT(
      DecideStartReturn("o", "ret-2", {Returned("hat", 1), Returned("hat", 1)},
                        order),
      StatusIs(absl::StatusCode::kFailedPrecondition, "RETURN_EXCEEDS_ORDER"));
  EXPECT_THAT(
      DecideStartReturn("o", "ret-2", {Returned("sock", 1)}, order),
      StatusIs(absl::StatusCode::kFailedPrecondition, "RETURN_EXCEEDS_ORDER"));
  absl::StatusOr<std::vector<OrderEvent>> rest = DecideStartReturn(
      "o", "ret-2", {Returned("boot", 1), Returned("hat", 1)}, order);
  ASSERT_TRUE(rest.ok()) << rest.status();
  EXPECT_EQ(std::get<v1::OrderReturnStarted>((*rest)[0]).refund_cents(), 7000);
}

// The same product bought at two prices: refunds pay the dearer units
// first, then the cheaper, never more than was paid.
TEST(OrderTest, RefundsFollowThePricesPaid) {
  Cart cart;
  cart.exists = true;
  cart.lines = {{"r-1", "boot", 1, 5000, {}}, {"r-2", "boot", 2, 4000, {}}};
  Order order = Evolve(Order(), PlacedFrom("c", cart), kAt);
  ASSERT_EQ(order.lines.size(), 2u);
  order.status = OrderStatus::kDelivered;
  absl::StatusOr<std::vector<OrderEvent>> first =
      DecideStartReturn("o", "ret-1", {Returned("boot", 2)}, order);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(std::get<v1::OrderReturnStarted>((*first)[0]).refund_cents(), 9000);
  order = Apply(std::move(order), first);
  absl::StatusOr<std::vector<OrderEvent>> second =
      DecideStartReturn("o", "ret-2", {Returned("boot", 1)}, order);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(std::get<v1::OrderReturnStarted>((*second)[0]).refund_cents(),
            4000);
}

// Order events survive their JSON: what is stored is what is folded.
TEST(OrderTest, EventsRoundTripThroughJson) {
  const Order delivered = InStatus(OrderStatus::kDelivered);
  absl::StatusOr<std::vector<OrderEvent>> started =
      DecideStartReturn("o", "ret-1", {Returned("hat", 1)}, delivered);
  ASSERT_TRUE(started.ok());
  const OrderEvent& event = (*started)[0];
  absl::StatusOr<OrderEvent> back =
      OrderEventFromJson(TypeOf(event), ToJson(event));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(ToJson(*back), ToJson(event));
  EXPECT_FALSE(OrderEventFromJson("order.nope", "{}").ok());
}

}  // namespace
}  // namespace cart
