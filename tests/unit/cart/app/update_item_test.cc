#include <string>
#include <vector>

#include "absl/synchronization/notification.h"
#include "common/errors/errors.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/cart/app/carts.h"
#include "tests/support/cart_fake_store.h"
#include "tests/support/fake_inventory.h"
#include "tests/support/status_matchers.h"

namespace cart {
namespace {

using ::shop::testing::FakeCartStore;
using ::shop::testing::FakeInventory;
using ::shop::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::SizeIs;

// UpdateItemQuantity with the store and inventory faked: what it asks of
// inventory, in which order, and what the cart shows afterwards.
class UpdateItemTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(carts_.Create("c", "alice", CallContext()).ok());
    absl::Notification added;
    carts_.AddItem("c", "shoe", 1, "", "add-1", CallContext(),
                   [&](absl::StatusOr<AddItemOutcome> outcome) {
                     EXPECT_TRUE(outcome.ok()) << outcome.status();
                     added.Notify();
                   });
    added.WaitForNotification();
  }

  absl::StatusOr<CartOutcome> Update(int64_t quantity,
                                     const std::string& request_id = "") {
    return carts_.UpdateItemQuantity("c", "shoe", quantity, request_id,
                                     CallContext());
  }
  int64_t Shown() {
    absl::StatusOr<LoadedCart> cart = carts_.Get("c");
    EXPECT_TRUE(cart.ok());
    int64_t units = 0;
    for (const Item& item : cart->cart.Items()) units += item.quantity;
    return units;
  }
  std::vector<FakeInventory::Call> Calls(const std::string& method) {
    std::vector<FakeInventory::Call> matching;
    for (const FakeInventory::Call& call : inventory_.calls()) {
      if (call.method == method) matching.push_back(call);
    }
    return matching;
  }

  FakeCartStore store_;
  FakeInventory inventory_;
  Carts carts_{&store_, &inventory_, CartsOptions{.workers = 2}};
};

// Raising reserves only the extra units, before the cart shows them.
TEST_F(UpdateItemTest, RaisingReservesOnlyTheExtraUnits) {
  ASSERT_TRUE(Update(4, "u-1").ok());
  std::vector<FakeInventory::Call> reserves = Calls("Reserve");
  ASSERT_THAT(reserves, SizeIs(2));
  EXPECT_EQ(reserves[1].quantity, 3);
  EXPECT_EQ(Shown(), 4);
  // A retry finds the cart showing 4 already: nothing more is reserved.
  ASSERT_TRUE(Update(4, "u-1").ok());
  EXPECT_THAT(Calls("Reserve"), SizeIs(2));
}

// Inventory refusing the extra units leaves the cart as it was.
TEST_F(UpdateItemTest, ARefusedRaiseChangesNothing) {
  inventory_.FailNextReserve(
      shop::MakeError(absl::StatusCode::kFailedPrecondition, "inventory.v1",
                      "INSUFFICIENT_STOCK", "no", {}));
  const int appends = store_.appends();
  EXPECT_THAT(Update(5), StatusIs(absl::StatusCode::kFailedPrecondition,
                                  "INSUFFICIENT_STOCK"));
  EXPECT_EQ(store_.appends(), appends);
  EXPECT_EQ(Shown(), 1);
  EXPECT_THAT(Calls("Release"), SizeIs(0));
}

// Lowering takes units off the newest line and gives back only them, under
// a release id of their own; 0 removes every line and releases each whole.
TEST_F(UpdateItemTest, LoweringReleasesOnlyTheSurplus) {
  ASSERT_TRUE(Update(4, "u-1").ok());  // lines of 1 and 3
  const std::string newest = Calls("Reserve")[1].reservation_id;
  ASSERT_TRUE(Update(2, "u-2").ok());
  EXPECT_EQ(Shown(), 2);
  std::vector<FakeInventory::Call> releases = Calls("Release");
  ASSERT_THAT(releases, SizeIs(1));
  EXPECT_EQ(releases[0].reservation_id, newest);
  EXPECT_EQ(releases[0].quantity, 2);
  EXPECT_FALSE(releases[0].release_id.empty());

  ASSERT_TRUE(Update(0).ok());
  EXPECT_EQ(Shown(), 0);
  releases = Calls("Release");
  ASSERT_THAT(releases, SizeIs(3));
  EXPECT_EQ(releases[1].quantity, 0);  // whole
  EXPECT_EQ(releases[2].quantity, 0);
}

// Checkout asks inventory again for every part given back, before it sells
// the rest of that reservation: a release lost on its way is not sold.
TEST_F(UpdateItemTest, CheckoutGivesPartsBackBeforeSelling) {
  ASSERT_TRUE(Update(4, "u-1").ok());
  ASSERT_TRUE(Update(3, "u-2").ok());
  const FakeInventory::Call part = Calls("Release")[0];
  ASSERT_TRUE(carts_.Checkout("c", CallContext()).ok());
  std::vector<std::string> order;
  for (const FakeInventory::Call& call : inventory_.calls()) {
    if (call.reservation_id != part.reservation_id) continue;
    order.push_back(call.method);
    if (call.method == "Release") {
      EXPECT_EQ(call.release_id, part.release_id);
      EXPECT_EQ(call.quantity, 1);
    }
  }
  EXPECT_THAT(order, ElementsAre("Reserve", "Release", "Release", "Commit"));
}

// The product must be in the cart, unless the call removes it.
TEST_F(UpdateItemTest, AProductNotInTheCartIsNotFound) {
  EXPECT_THAT(carts_.UpdateItemQuantity("c", "hat", 2, "", CallContext()),
              StatusIs(absl::StatusCode::kNotFound, "ITEM_NOT_FOUND"));
  const int appends = store_.appends();
  EXPECT_TRUE(carts_.UpdateItemQuantity("c", "hat", 0, "", CallContext()).ok());
  EXPECT_EQ(store_.appends(), appends);
  EXPECT_THAT(Calls("Reserve"), SizeIs(1));
}

// A pinned version that is not the cart's reserves and releases nothing.
TEST_F(UpdateItemTest, AStaleVersionTouchesNothing) {
  CallContext stale;
  stale.expected_version = 1;
  EXPECT_THAT(carts_.UpdateItemQuantity("c", "shoe", 3, "", stale),
              StatusIs(absl::StatusCode::kAborted));
  EXPECT_THAT(carts_.UpdateItemQuantity("c", "shoe", 0, "", stale),
              StatusIs(absl::StatusCode::kAborted));
  EXPECT_THAT(Calls("Reserve"), SizeIs(1));
  EXPECT_THAT(Calls("Release"), SizeIs(0));
}

}  // namespace
}  // namespace cart
