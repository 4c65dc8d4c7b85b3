#include "services/cart/app/carts.h"

#include <memory>
#include <optional>
#include <string>

#include "absl/synchronization/notification.h"
#include "common/errors/errors.h"
#include "common/eventstore/connection_pool.h"
#include "common/eventstore/event_store.h"
#include "common/eventstore/migrations.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/cart/store/cart_store.h"
#include "tests/support/fake_inventory.h"
#include "tests/support/status_matchers.h"
#include "tests/support/test_database.h"

namespace cart {
namespace {

using ::shop::testing::FakeInventory;
using ::shop::testing::StatusIs;

// The Carts app on a real database, with inventory faked at the edge.
class CartsTest : public ::testing::Test {
 protected:
  void SetUp() override { Start({}); }

  void Start(CartsOptions options) {
    carts_.reset();
    pool_ = std::make_unique<eventstore::ConnectionPool>(
        eventstore::PoolOptions{.dsn = shop::testing::TestDsn(), .size = 4});
    ASSERT_TRUE(eventstore::Migrate(*pool_, schema_.name(), {}).ok());
    events_ = std::make_unique<eventstore::EventStore>(
        pool_.get(), schema_.name(), eventstore::EventStoreOptions{});
    store_ = std::make_unique<EventCartStore>(events_.get());
    carts_ =
        std::make_unique<Carts>(store_.get(), &inventory_, std::move(options));
  }

  void CreateCart(const std::string& cart_id) {
    ASSERT_TRUE(carts_->Create(cart_id, "customer", CallContext()).ok());
  }

  absl::StatusOr<AddItemOutcome> AddItem(const std::string& cart_id,
                                         const std::string& product_id,
                                         const std::string& request_id = "",
                                         CallContext context = {}) {
    absl::Notification answered;
    std::optional<absl::StatusOr<AddItemOutcome>> result;
    carts_->AddItem(cart_id, product_id, 1, "", request_id, std::move(context),
                    [&](absl::StatusOr<AddItemOutcome> outcome) {
                      result = std::move(outcome);
                      answered.Notify();
                    });
    answered.WaitForNotification();
    return *std::move(result);
  }

  size_t LinesIn(const std::string& cart_id) {
    absl::StatusOr<LoadedCart> loaded = carts_->Get(cart_id);
    EXPECT_TRUE(loaded.ok()) << loaded.status();
    return loaded.ok() ? loaded->cart.lines.size() : 0;
  }

  shop::testing::TestSchema schema_{"cart_app"};
  FakeInventory inventory_;
  std::unique_ptr<eventstore::ConnectionPool> pool_;
  std::unique_ptr<eventstore::EventStore> events_;
  std::unique_ptr<CartStore> store_;
  std::unique_ptr<Carts> carts_;
};

// Inventory refuses: the call fails with inventory's reason, nothing is
// released (nothing was held) and the cart shows nothing.
TEST_F(CartsTest, RefusedReservationAddsNothing) {
  CreateCart("c");
  inventory_.FailNextReserve(
      shop::MakeError(absl::StatusCode::kFailedPrecondition, "inventory.v1",
                      "INSUFFICIENT_STOCK", "insufficient stock for shoe", {}));
  EXPECT_THAT(
      AddItem("c", "shoe"),
      StatusIs(absl::StatusCode::kFailedPrecondition, "INSUFFICIENT_STOCK"));
  EXPECT_EQ(inventory_.Count("Release"), 0);
  EXPECT_EQ(LinesIn("c"), 0u);
}

// Inventory does not answer in time and the call had no request id: no
// retry will claim the reservation, so it is released at once.
TEST_F(CartsTest, TimedOutReservationWithoutRequestIdIsReleased) {
  CreateCart("c");
  inventory_.FailNextReserve(absl::UnavailableError("inventory: timed out"));
  EXPECT_THAT(AddItem("c", "shoe"), StatusIs(absl::StatusCode::kUnavailable));
  // Released on a worker: the destructor waits for nothing, so wait here.
  for (int i = 0; i < 500 && inventory_.Count("Release") == 0; ++i) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  EXPECT_EQ(inventory_.Count("Release"), 1);
  EXPECT_EQ(LinesIn("c"), 0u);
}

// With a request id the retry claims the same reservation: it is kept.
TEST_F(CartsTest, TimedOutReservationWithRequestIdIsKeptForTheRetry) {
  CreateCart("c");
  inventory_.FailNextReserve(absl::UnavailableError("inventory: timed out"));
  EXPECT_THAT(AddItem("c", "shoe", "req-1"),
              StatusIs(absl::StatusCode::kUnavailable));
  ASSERT_TRUE(AddItem("c", "shoe", "req-1").ok());
  EXPECT_EQ(inventory_.Count("Release"), 0);
  const std::vector<FakeInventory::Call> calls = inventory_.calls();
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[0].reservation_id, calls[1].reservation_id);
  EXPECT_EQ(LinesIn("c"), 1u);
}

// The cart's append is refused after inventory reserved: the units are
// released, since no cart shows them.
TEST_F(CartsTest, RefusedAppendAfterReservationReleases) {
  bool raced = false;
  CartsOptions options;
  // Another writer moves the cart on just before the append.
  options.before_add_append = [&] {
    if (std::exchange(raced, true)) return;
    absl::StatusOr<LoadedCart> loaded = store_->Load("c");
    ASSERT_TRUE(loaded.ok());
    v1::ItemAdded other;
    other.set_product_id("hat");
    other.set_quantity(1);
    other.set_reservation_id("other");
    const std::vector<Event> events{other};
    ASSERT_TRUE(store_
                    ->Append("c", loaded->version, events,
                             Evolve(loaded->cart, other), {},
                             absl::InfiniteFuture())
                    .ok());
  };
  Start(std::move(options));
  CreateCart("c");
  CallContext pinned;
  pinned.expected_version = 1;
  EXPECT_THAT(AddItem("c", "shoe", "req-1", pinned),
              StatusIs(absl::StatusCode::kAborted));
  ASSERT_EQ(inventory_.Count("Release"), 1);
  EXPECT_EQ(inventory_.calls().back().product_id, "shoe");
  EXPECT_EQ(LinesIn("c"), 1u);  // only the other writer's line
}

// The caller's deadline travels to inventory with the call's identity.
TEST_F(CartsTest, CallersDeadlineReachesInventory) {
  CreateCart("c");
  CallContext context;
  context.deadline = absl::Now() + absl::Seconds(3);
  context.metadata.request_id = "r-deadline";
  ASSERT_TRUE(AddItem("c", "shoe", "", context).ok());
  const std::vector<FakeInventory::Call> calls = inventory_.calls();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].call.deadline, context.deadline);
  EXPECT_EQ(calls[0].call.metadata.request_id, "r-deadline");
}

// Checkout commits every line; a refused line stops it, the lines sold
// stay sold, and the refused one can be removed.
TEST_F(CartsTest, CheckoutWithARefusedLineStopsKeepingTheSoldOnes) {
  CreateCart("c");
  absl::StatusOr<AddItemOutcome> shoe = AddItem("c", "shoe");
  absl::StatusOr<AddItemOutcome> hat = AddItem("c", "hat");
  ASSERT_TRUE(shoe.ok() && hat.ok());
  inventory_.FailCommit(
      hat->line.reservation_id,
      shop::MakeError(absl::StatusCode::kFailedPrecondition, "inventory.v1",
                      "RESERVATION_EXPIRED", "expired", {}));
  EXPECT_THAT(
      carts_->Checkout("c", CallContext()),
      StatusIs(absl::StatusCode::kFailedPrecondition, "RESERVATION_EXPIRED"));
  EXPECT_EQ(inventory_.Count("Commit"), 2);
  absl::StatusOr<LoadedCart> loaded = carts_->Get("c");
  ASSERT_TRUE(loaded.ok());
  EXPECT_FALSE(loaded->cart.checkout_started);
  EXPECT_TRUE(loaded->cart.IsSold(shoe->line.reservation_id));
  EXPECT_THAT(carts_->RemoveItem("c", "shoe", CallContext()),
              StatusIs(absl::StatusCode::kFailedPrecondition, "ITEM_SOLD"));
  EXPECT_TRUE(carts_->RemoveItem("c", "hat", CallContext()).ok());
}

// A commit whose outcome is unknown leaves the cart frozen for a retry.
TEST_F(CartsTest, CheckoutWithAnUnknownCommitStaysFrozen) {
  CreateCart("c");
  absl::StatusOr<AddItemOutcome> shoe = AddItem("c", "shoe");
  ASSERT_TRUE(shoe.ok());
  inventory_.FailCommit(shoe->line.reservation_id,
                        absl::UnavailableError("inventory: lost"));
  EXPECT_THAT(carts_->Checkout("c", CallContext()),
              StatusIs(absl::StatusCode::kUnavailable));
  absl::StatusOr<LoadedCart> loaded = carts_->Get("c");
  ASSERT_TRUE(loaded.ok());
  EXPECT_TRUE(loaded->cart.checkout_started);
}

// A missing cart is NOT_FOUND / CART_NOT_FOUND, from reads and writes.
TEST_F(CartsTest, MissingCartIsNotFound) {
  EXPECT_THAT(carts_->Get("nope"),
              StatusIs(absl::StatusCode::kNotFound, "CART_NOT_FOUND"));
  EXPECT_THAT(AddItem("nope", "shoe"),
              StatusIs(absl::StatusCode::kNotFound, "CART_NOT_FOUND"));
  EXPECT_EQ(inventory_.Count("Reserve"), 0);
}

}  // namespace
}  // namespace cart
