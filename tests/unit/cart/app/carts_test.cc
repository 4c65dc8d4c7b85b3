#include "services/cart/app/carts.h"

#include <optional>
#include <string>

#include "absl/synchronization/notification.h"
#include "common/errors/errors.h"
#include "common/eventstore/expected_version.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/cart_fake_store.h"
#include "tests/support/fake_inventory.h"
#include "tests/support/metric_value.h"
#include "tests/support/status_matchers.h"

namespace cart {
namespace {

using ::shop::testing::FakeCartStore;
using ::shop::testing::FakeInventory;
using ::shop::testing::MetricValue;
using ::shop::testing::StatusIs;

// AddItem's flow with the store and inventory faked: no database, no
// network; each test checks one step's outcome and the reservation's fate.
class CartsFlowTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(carts_.Create("c", "alice", CallContext()).ok());
  }

  // Waits for the answer, and for the turn to pass on (Get takes no turn,
  // so a second AddItem proves the first one's turn ended).
  absl::StatusOr<AddItemOutcome> AddItem(const std::string& request_id = "") {
    absl::Notification answered;
    std::optional<absl::StatusOr<AddItemOutcome>> result;
    int answers = 0;
    carts_.AddItem("c", "shoe", 1, "", request_id, CallContext(),
                   [&](absl::StatusOr<AddItemOutcome> outcome) {
                     ++answers;
                     result = std::move(outcome);
                     answered.Notify();
                   });
    answered.WaitForNotification();
    EXPECT_EQ(answers, 1);
    return *std::move(result);
  }

  // Waits for `count` releases, which may run on a worker after the answer.
  void AwaitReleases(int count) {
    const absl::Time deadline = absl::Now() + absl::Seconds(5);
    while (inventory_.Count("Release") < count && absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(1));
    }
  }

  // The count of `series` in the cart's registry, once it gets there
  // (releases may run on a worker after the answer).
  double Counted(const std::string& series, double expected) {
    const absl::Time deadline = absl::Now() + absl::Seconds(5);
    double value = 0;
    while ((value = MetricValue(registry_.Exposition(), series)) != expected &&
           absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(1));
    }
    return value;
  }

  FakeCartStore store_;
  FakeInventory inventory_;
  shop::metrics::Registry registry_;
  Carts carts_{&store_, &inventory_,
               CartsOptions{.workers = 2, .metrics = &registry_}};
};

// The fast path: a cached open cart, one reservation, one append, answered.
TEST_F(CartsFlowTest, AddsOnTheFastPath) {
  absl::StatusOr<AddItemOutcome> added = AddItem();
  ASSERT_TRUE(added.ok()) << added.status();
  EXPECT_EQ(added->version, 2);
  EXPECT_EQ(inventory_.Count("Reserve"), 1);
  EXPECT_EQ(store_.appends(), 2);
  // The turn ended: the next call runs.
  EXPECT_TRUE(AddItem().ok());
}

// Inventory refuses: answered with its error, nothing appended or released.
TEST_F(CartsFlowTest, RefusedReserveAppendsNothing) {
  inventory_.FailNextReserve(
      shop::MakeError(absl::StatusCode::kFailedPrecondition, "inventory.v1",
                      "INSUFFICIENT_STOCK", "no", {}));
  EXPECT_THAT(AddItem(), StatusIs(absl::StatusCode::kFailedPrecondition,
                                  "INSUFFICIENT_STOCK"));
  EXPECT_EQ(store_.appends(), 1);  // the Create only
  EXPECT_EQ(inventory_.Count("Release"), 0);
  EXPECT_TRUE(AddItem().ok());
}

// Other writers winning every race: the command gives up after its
// attempts, ABORTED CONCURRENCY_CONFLICT, and one fewer lost race succeeds.
TEST_F(CartsFlowTest, LostRacesEndInConcurrencyConflict) {
  ASSERT_TRUE(AddItem().ok());
  const absl::Status lost = eventstore::WrongExpectedVersionError(
      "cart-c", eventstore::ExpectedVersion::Exactly(2), 3);
  const int before = store_.appends();
  store_.FailNextAppends(8, lost, /*committed=*/false);
  EXPECT_THAT(carts_.RemoveItem("c", "shoe", CallContext()),
              StatusIs(absl::StatusCode::kAborted, "CONCURRENCY_CONFLICT"));
  EXPECT_EQ(store_.appends() - before, 8);
  store_.FailNextAppends(7, lost, /*committed=*/false);
  EXPECT_TRUE(carts_.RemoveItem("c", "shoe", CallContext()).ok());
}

// The cart's append is refused for sure after the reservation: released.
TEST_F(CartsFlowTest, DefinitelyRefusedAppendReleases) {
  store_.FailNextAppends(2, absl::FailedPreconditionError("refused"), false);
  EXPECT_THAT(AddItem(), StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_EQ(inventory_.Count("Release"), 1);
  const std::string compensated =
      "shop_cart_releases_total{why=\"compensation\",result=\"ok\"}";
  EXPECT_EQ(Counted(compensated, 1), 1);
}

// The append's answer is lost and not confirmed: the reservation is kept,
// since the line may be in the cart.
TEST_F(CartsFlowTest, UnknownAppendKeeps) {
  store_.FailNextAppends(2, absl::UnavailableError("lost"), false);
  EXPECT_THAT(AddItem("req-1"), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_EQ(inventory_.Count("Release"), 0);
  EXPECT_EQ(Counted("shop_cart_reservations_kept_unconfirmed_total", 1), 1);
}

// The answer was lost after the commit: the fresh load finds the line, so
// the call succeeds once and keeps its units.
TEST_F(CartsFlowTest, LostAnswerAfterCommitFindsTheLine) {
  store_.FailNextAppends(1, absl::UnavailableError("lost"), true);
  absl::StatusOr<AddItemOutcome> added = AddItem("req-1");
  ASSERT_TRUE(added.ok()) << added.status();
  EXPECT_EQ(added->cart.lines.size(), 1u);
  EXPECT_EQ(inventory_.Count("Release"), 0);
}

// A reserve with an unknown outcome and no request id: released, since no
// retry will claim it; with a request id: kept for the retry.
TEST_F(CartsFlowTest, UnknownReserveReleasesOnlyWithoutRequestId) {
  inventory_.FailNextReserve(absl::UnavailableError("timed out"));
  EXPECT_THAT(AddItem(), StatusIs(absl::StatusCode::kUnavailable));
  inventory_.FailNextReserve(absl::DeadlineExceededError("caller"));
  EXPECT_THAT(AddItem("req-1"), StatusIs(absl::StatusCode::kDeadlineExceeded));
  AwaitReleases(1);
  EXPECT_EQ(inventory_.Count("Release"), 1);
  EXPECT_NE(inventory_.calls().back().reservation_id, "");
}

// Checkouts are counted by how they ended: every line sold, stopped by a
// refused line, or left frozen with a sale whose outcome is unknown.
TEST_F(CartsFlowTest, CheckoutsAreCountedByResult) {
  // The reservation of a new item in a new cart.
  auto add_to = [&](const std::string& cart_id) {
    EXPECT_TRUE(carts_.Create(cart_id, "bob", CallContext()).ok());
    absl::Notification answered;
    std::string reservation;
    carts_.AddItem(cart_id, "boot", 1, "", "", CallContext(),
                   [&](absl::StatusOr<AddItemOutcome> outcome) {
                     if (outcome.ok())
                       reservation = outcome->line.reservation_id;
                     answered.Notify();
                   });
    answered.WaitForNotification();
    EXPECT_FALSE(reservation.empty());
    return reservation;
  };
  add_to("sold");
  EXPECT_TRUE(carts_.Checkout("sold", CallContext()).ok());
  inventory_.FailCommit(add_to("unknown"), absl::UnavailableError("lost"));
  EXPECT_THAT(carts_.Checkout("unknown", CallContext()),
              StatusIs(absl::StatusCode::kUnavailable));
  inventory_.FailCommit(
      add_to("refused"),
      shop::MakeError(absl::StatusCode::kFailedPrecondition, "inventory.v1",
                      "RESERVATION_EXPIRED", "gone", {}));
  EXPECT_THAT(carts_.Checkout("refused", CallContext()),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_EQ(Counted("shop_cart_checkouts_total{result=\"completed\"}", 1), 1);
  EXPECT_EQ(Counted("shop_cart_checkouts_total{result=\"unfinished\"}", 1), 1);
  EXPECT_EQ(Counted("shop_cart_checkouts_total{result=\"stopped\"}", 1), 1);
}

}  // namespace
}  // namespace cart
