// The order transitions that move stock (ship, cancel, return) with the
// store and inventory faked: no database, no network. Each test checks
// the calls inventory got and what the order shows after each outcome.
#include "services/cart/app/orders.h"

#include <string>
#include <vector>

#include "common/errors/errors.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/fake_inventory.h"
#include "tests/support/order_fake_store.h"
#include "tests/support/status_matchers.h"

namespace cart {
namespace {

using ::shop::testing::FakeInventory;
using ::shop::testing::FakeOrderStore;
using ::shop::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::Field;

// A call to inventory as "Method product quantity id".
std::vector<std::string> Moves(const FakeInventory& inventory) {
  std::vector<std::string> moves;
  for (const FakeInventory::Call& call : inventory.calls()) {
    moves.push_back(absl::StrCat(call.method, " ", call.product_id, " ",
                                 call.quantity, " ", call.release_id));
  }
  return moves;
}

class OrdersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    v1::OrderPlaced placed;
    placed.set_customer_id("alice");
    placed.set_cart_id("c");
    for (const auto& [product, units] :
         std::vector<std::pair<std::string, int64_t>>{{"shoe", 2},
                                                      {"sock", 3}}) {
      v1::OrderLine* line = placed.add_lines();
      line->set_product_id(product);
      line->set_quantity(units);
      line->set_unit_price_cents(100);
    }
    ASSERT_TRUE(store_.Append("o", 0, {OrderEvent(placed)}, {}).ok());
    ASSERT_TRUE(orders_.StartProcessing("o", "", CallContext()).ok());
  }

  OrderStatus StatusNow() {
    absl::StatusOr<LoadedOrder> loaded = orders_.Get("o");
    EXPECT_TRUE(loaded.ok()) << loaded.status();
    return loaded.ok() ? loaded->order.status : OrderStatus::kNone;
  }

  const std::string shipment_ = InventoryShipmentId("o", "s-1");
  FakeOrderStore store_;
  FakeInventory inventory_;
  Orders orders_{&store_, &inventory_};
};

// Claim, one shipment per product under one id, then the end recorded.
TEST_F(OrdersTest, ShippingShipsEachProductOnceUnderTheShipmentsId) {
  absl::StatusOr<LoadedOrder> shipped = orders_.Ship("o", "s-1", CallContext());
  ASSERT_TRUE(shipped.ok()) << shipped.status();
  EXPECT_EQ(shipped->order.status, OrderStatus::kShipped);
  EXPECT_THAT(Moves(inventory_), ElementsAre("Ship shoe 2 " + shipment_,
                                             "Ship sock 3 " + shipment_));
  // The order's id correlates inventory's events with the order's.
  EXPECT_THAT(inventory_.calls(),
              ::testing::Each(Field(
                  &FakeInventory::Call::call,
                  Field(&InventoryCall::metadata,
                        Field(&eventstore::Metadata::correlation_id, "o")))));
}

// A failed call to inventory leaves the order claimed, not shipped; the
// retry ships under the same id (inventory keeps it once) and finishes.
TEST_F(OrdersTest, AFailedShipmentStaysClaimedAndItsRetryFinishes) {
  inventory_.FailNextMove(absl::UnavailableError("inventory is down"));
  EXPECT_THAT(orders_.Ship("o", "s-1", CallContext()),
              StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_EQ(StatusNow(), OrderStatus::kShipping);
  ASSERT_TRUE(orders_.Ship("o", "s-1", CallContext()).ok());
  EXPECT_EQ(StatusNow(), OrderStatus::kShipped);
  EXPECT_THAT(Moves(inventory_), ElementsAre("Ship shoe 2 " + shipment_,
                                             "Ship shoe 2 " + shipment_,
                                             "Ship sock 3 " + shipment_));
}

// A repeat of a finished transition is answered from the order: inventory
// hears nothing more.
TEST_F(OrdersTest, ARepeatOfAFinishedShipmentMovesNothing) {
  ASSERT_TRUE(orders_.Ship("o", "s-1", CallContext()).ok());
  const size_t calls = inventory_.calls().size();
  absl::StatusOr<LoadedOrder> again = orders_.Ship("o", "s-1", CallContext());
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->order.status, OrderStatus::kShipped);
  EXPECT_EQ(inventory_.calls().size(), calls);
}

// A caller's pinned version that no longer holds refuses the claim: no
// stock moves.
TEST_F(OrdersTest, AStalePinnedVersionMovesNothing) {
  CallContext pinned;
  pinned.expected_version = 1;  // placing and processing made it 2
  EXPECT_THAT(orders_.Ship("o", "s-1", pinned),
              StatusIs(absl::StatusCode::kAborted, "WRONG_EXPECTED_VERSION"));
  EXPECT_THAT(inventory_.calls(), ::testing::IsEmpty());
  EXPECT_EQ(StatusNow(), OrderStatus::kProcessing);
}

// Lost races on the claim and on the end are decided again on the stored
// order; the stock still moves once.
TEST_F(OrdersTest, LostRacesAreDecidedAgain) {
  const int before = store_.appends();
  store_.FailNextAppends(
      1, eventstore::WrongExpectedVersionError(
             OrderStreamOf("o"), eventstore::ExpectedVersion::Exactly(2), 3));
  ASSERT_TRUE(orders_.Ship("o", "s-1", CallContext()).ok());
  EXPECT_EQ(store_.appends() - before, 3);  // the lost claim, claim, end
  EXPECT_EQ(inventory_.Count("Ship"), 2);
}

// Cancelling gives each product's committed units back, with the reason.
TEST_F(OrdersTest, CancellingGivesEachProductBack) {
  absl::StatusOr<LoadedOrder> cancelled =
      orders_.Cancel("o", "changed my mind", "", CallContext());
  ASSERT_TRUE(cancelled.ok()) << cancelled.status();
  EXPECT_EQ(cancelled->order.status, OrderStatus::kCancelled);
  EXPECT_THAT(Moves(inventory_),
              ElementsAre("CancelCommitment shoe 0 changed my mind",
                          "CancelCommitment sock 0 changed my mind"));
}

// A return takes each of its lines back under an id of its own, so two
// lines of one product are two returns in inventory.
TEST_F(OrdersTest, AReturnTakesEachLineBackUnderItsOwnId) {
  ASSERT_TRUE(orders_.Ship("o", "s-1", CallContext()).ok());
  ASSERT_TRUE(orders_.ConfirmDelivery("o", "", CallContext()).ok());
  std::vector<v1::ReturnedLine> lines(2);
  lines[0].set_product_id("sock");
  lines[0].set_quantity(1);
  lines[1].set_product_id("sock");
  lines[1].set_quantity(2);
  absl::StatusOr<LoadedOrder> returned =
      orders_.Return("o", "r-1", lines, CallContext());
  ASSERT_TRUE(returned.ok()) << returned.status();
  const OrderReturn* taken = returned->order.FindReturn("r-1");
  ASSERT_NE(taken, nullptr);
  EXPECT_TRUE(taken->completed);
  std::vector<std::string> moves = Moves(inventory_);
  moves.erase(moves.begin(), moves.begin() + 2);  // the shipment's
  EXPECT_THAT(moves,
              ElementsAre("Return sock 1 " + InventoryReturnId("o", "r-1", 0),
                          "Return sock 2 " + InventoryReturnId("o", "r-1", 1)));
}

}  // namespace
}  // namespace cart
