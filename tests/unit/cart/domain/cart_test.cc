#include "services/cart/domain/cart.h"

#include <variant>

#include "common/errors/errors.h"
#include "gtest/gtest.h"

namespace cart {
namespace {

Cart CartWithOneLine() {
  Cart cart;
  cart = Evolve(cart, v1::CartCreated());
  v1::ItemAdded added;
  added.set_product_id("shoe");
  added.set_quantity(1);
  added.set_reservation_id("r-1");
  added.set_unit_price_cents(500);
  return Evolve(cart, added);
}

// Checkout starts once; starting again writes nothing.
TEST(CartCheckoutTest, StartingFreezesTheCartOnce) {
  const Cart open = CartWithOneLine();
  absl::StatusOr<std::vector<Event>> started = DecideStartCheckout("c", open);
  ASSERT_TRUE(started.ok()) << started.status();
  ASSERT_EQ(started->size(), 1u);
  ASSERT_TRUE(std::holds_alternative<v1::CheckoutStarted>((*started)[0]));
  EXPECT_EQ(std::get<v1::CheckoutStarted>((*started)[0]).order_id(),
            OrderIdFor("c"));

  const Cart frozen = Evolve(open, (*started)[0]);
  EXPECT_TRUE(frozen.checkout_started);
  absl::StatusOr<std::vector<Event>> again = DecideStartCheckout("c", frozen);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_TRUE(again->empty());
}

// A cart in checkout refuses new and removed lines, but not a retry.
TEST(CartCheckoutTest, AFrozenCartRefusesChanges) {
  const Cart frozen = Evolve(CartWithOneLine(), v1::CheckoutStarted());
  absl::Status open = CheckOpen("c", frozen);
  EXPECT_EQ(open.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(shop::ReasonOf(open), "CHECKOUT_IN_PROGRESS");
  EXPECT_EQ(shop::ReasonOf(DecideRemoveItem("c", "shoe", frozen).status()),
            "CHECKOUT_IN_PROGRESS");
  EXPECT_EQ(shop::ReasonOf(
                DecideAddItem("c", {"r-2", "sock", 1, 100}, frozen).status()),
            "CHECKOUT_IN_PROGRESS");
  // A retried AddItem whose line is already in the cart still succeeds.
  absl::StatusOr<std::vector<Event>> retried =
      DecideAddItem("c", {"r-1", "shoe", 1, 500}, frozen);
  ASSERT_TRUE(retried.ok()) << retried.status();
  EXPECT_TRUE(retried->empty());
}

// The order closes the cart for good.
TEST(CartCheckoutTest, CheckingOutEndsTheFreeze) {
  Cart cart = Evolve(CartWithOneLine(), v1::CheckoutStarted());
  absl::StatusOr<std::vector<Event>> done = DecideCheckout("c", cart);
  ASSERT_TRUE(done.ok()) << done.status();
  ASSERT_EQ(done->size(), 1u);
  cart = Evolve(cart, (*done)[0]);
  EXPECT_TRUE(cart.checked_out);
  EXPECT_FALSE(cart.checkout_started);
  EXPECT_EQ(shop::ReasonOf(CheckOpen("c", cart)), "CART_CHECKED_OUT");
}

// A stopped checkout unfreezes the cart but keeps its sold lines in it.
TEST(CartCheckoutTest, StoppingKeepsTheSoldLines) {
  Cart cart = CartWithOneLine();
  v1::ItemAdded hat;
  hat.set_product_id("hat");
  hat.set_quantity(1);
  hat.set_reservation_id("r-2");
  cart = Evolve(Evolve(cart, hat), v1::CheckoutStarted());
  absl::StatusOr<std::vector<Event>> stopped = DecideStopCheckout(
      cart, {{"r-2", "RESERVATION_RELEASED"}}, std::vector<std::string>{"r-1"});
  ASSERT_TRUE(stopped.ok()) << stopped.status();
  ASSERT_EQ(stopped->size(), 1u);
  cart = Evolve(cart, (*stopped)[0]);
  EXPECT_FALSE(cart.checkout_started);
  EXPECT_TRUE(CheckOpen("c", cart).ok());
  EXPECT_EQ(shop::ReasonOf(DecideRemoveItem("c", "shoe", cart).status()),
            "ITEM_SOLD");
  EXPECT_TRUE(DecideRemoveItem("c", "hat", cart).ok());
  // Nothing to stop once the cart is not in checkout.
  absl::StatusOr<std::vector<Event>> again =
      DecideStopCheckout(cart, {{"r-2", "RESERVATION_RELEASED"}}, {});
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->empty());
}

// Lines committed concurrently can be refused together: each refusal is
// recorded, the sold lines once, and every refused line can be removed.
TEST(CartCheckoutTest, StoppingRecordsEveryRefusedLine) {
  Cart cart = CartWithOneLine();
  for (const char* id : {"r-2", "r-3"}) {
    v1::ItemAdded hat;
    hat.set_product_id(std::string("hat-") + id);
    hat.set_quantity(1);
    hat.set_reservation_id(id);
    cart = Evolve(cart, hat);
  }
  cart = Evolve(cart, v1::CheckoutStarted());
  absl::StatusOr<std::vector<Event>> stopped = DecideStopCheckout(
      cart, {{"r-2", "RESERVATION_RELEASED"}, {"r-3", "RESERVATION_EXPIRED"}},
      {"r-1"});
  ASSERT_TRUE(stopped.ok()) << stopped.status();
  ASSERT_EQ(stopped->size(), 2u);
  const auto& first = std::get<v1::CheckoutStopped>((*stopped)[0]);
  const auto& second = std::get<v1::CheckoutStopped>((*stopped)[1]);
  EXPECT_EQ(first.reservation_id(), "r-2");
  EXPECT_EQ(first.reason(), "RESERVATION_RELEASED");
  ASSERT_EQ(first.sold_reservation_ids_size(), 1);
  EXPECT_EQ(first.sold_reservation_ids(0), "r-1");
  EXPECT_EQ(second.reservation_id(), "r-3");
  EXPECT_EQ(second.reason(), "RESERVATION_EXPIRED");
  EXPECT_EQ(second.sold_reservation_ids_size(), 0);
  for (const Event& event : *stopped) cart = Evolve(cart, event);
  EXPECT_FALSE(cart.checkout_started);
  EXPECT_TRUE(cart.IsSold("r-1"));
  EXPECT_TRUE(DecideRemoveItem("c", "hat-r-2", cart).ok());
  EXPECT_TRUE(DecideRemoveItem("c", "hat-r-3", cart).ok());
}

// Without a refused line there is nothing to stop.
TEST(CartCheckoutTest, NoRefusalStopsNothing) {
  const Cart cart = Evolve(CartWithOneLine(), v1::CheckoutStarted());
  absl::StatusOr<std::vector<Event>> stopped =
      DecideStopCheckout(cart, {}, {"r-1"});
  ASSERT_TRUE(stopped.ok());
  EXPECT_TRUE(stopped->empty());
}

// There is nothing to sell in an empty cart.
TEST(CartCheckoutTest, AnEmptyCartDoesNotStart) {
  const Cart empty = Evolve(Cart(), v1::CartCreated());
  EXPECT_EQ(shop::ReasonOf(DecideStartCheckout("c", empty).status()),
            "CART_EMPTY");
}

// The new event is stored and read back under its type.
TEST(CartEventsTest, CheckoutStartedRoundTripsThroughJson) {
  v1::CheckoutStarted started;
  started.set_order_id("order-c");
  const Event event = started;
  EXPECT_EQ(TypeOf(event), "checkout.started");
  absl::StatusOr<Event> parsed = FromJson(TypeOf(event), ToJson(event));
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(std::get<v1::CheckoutStarted>(*parsed).order_id(), "order-c");
}

Cart WithLine(Cart cart, const std::string& reservation_id, int64_t quantity) {
  v1::ItemAdded added;
  added.set_product_id("shoe");
  added.set_quantity(quantity);
  added.set_reservation_id(reservation_id);
  added.set_unit_price_cents(500);
  return Evolve(std::move(cart), added);
}

// Lowering takes from the newest line first: whole lines are removed, the
// last one touched is reduced under its own release id, which the fold
// keeps for checkout.
TEST(CartQuantityTest, LoweringTakesTheNewestLinesFirst) {
  const Cart cart = WithLine(WithLine(CartWithOneLine(), "r-2", 2), "r-3", 3);
  absl::StatusOr<std::vector<Event>> events =
      DecideReduceItem("c", "shoe", 2, "req", cart);
  ASSERT_TRUE(events.ok()) << events.status();
  ASSERT_EQ(events->size(), 2u);
  EXPECT_EQ(std::get<v1::ItemRemoved>((*events)[0]).reservation_id(), "r-3");
  const auto& reduced = std::get<v1::ItemReduced>((*events)[1]);
  EXPECT_EQ(reduced.reservation_id(), "r-2");
  EXPECT_EQ(reduced.quantity(), 2 + 1 + 3 - 2 - 3);
  EXPECT_EQ(reduced.release_id(), ReleaseIdFor("r-2", "req"));

  Cart after = cart;
  for (const Event& event : *events) after = Evolve(after, event);
  ASSERT_EQ(after.lines.size(), 2u);
  EXPECT_EQ(after.Items()[0].quantity, 2);
  ASSERT_EQ(after.lines[1].releases.size(), 1u);
  EXPECT_EQ(after.lines[1].releases[0].release_id, reduced.release_id());
  absl::StatusOr<std::vector<Event>> again =
      DecideReduceItem("c", "shoe", 2, "req", after);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->empty());
}

// Raising needs only the units the cart does not show yet.
TEST(CartQuantityTest, RaisingCountsOnlyTheExtraUnits) {
  const Cart cart = WithLine(CartWithOneLine(), "r-2", 2);
  EXPECT_EQ(*DecideUnitsToReserve("c", "shoe", 5, cart), 2);
  EXPECT_EQ(*DecideUnitsToReserve("c", "shoe", 3, cart), 0);
  EXPECT_EQ(shop::ReasonOf(DecideUnitsToReserve("c", "hat", 1, cart).status()),
            "ITEM_NOT_FOUND");
  Cart sold = cart;
  sold.sold.push_back("r-2");
  EXPECT_EQ(shop::ReasonOf(DecideUnitsToReserve("c", "shoe", 5, sold).status()),
            "ITEM_SOLD");
  Cart frozen = cart;
  frozen.checkout_started = true;
  EXPECT_EQ(
      shop::ReasonOf(DecideUnitsToReserve("c", "shoe", 5, frozen).status()),
      "CHECKOUT_IN_PROGRESS");
}

// The new event is stored and read back under its type.
TEST(CartEventsTest, ItemReducedRoundTripsThroughJson) {
  v1::ItemReduced reduced;
  reduced.set_reservation_id("r-1");
  reduced.set_quantity(2);
  reduced.set_release_id("rl-1");
  const Event event = reduced;
  EXPECT_EQ(TypeOf(event), "item.reduced");
  absl::StatusOr<Event> parsed = FromJson(TypeOf(event), ToJson(event));
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(std::get<v1::ItemReduced>(*parsed).release_id(), "rl-1");
}

}  // namespace
}  // namespace cart
