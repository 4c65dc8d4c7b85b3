#include "services/inventory/domain/product.h"

#include "absl/strings/str_cat.h"
#include "common/errors/errors.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace inventory {
namespace {

using ::testing::HasSubstr;
using ::testing::SizeIs;

const absl::Time kNow = absl::FromUnixSeconds(1'800'000'000);

Product Fold(const std::vector<Event>& events, Product product = {}) {
  for (const Event& event : events) product = Evolve(std::move(product), event);
  return product;
}

// A product with `on_hand` units and a reservation r-1 of 2 units.
Product Stocked(int64_t on_hand) {
  Product product =
      Fold(*Decide("p", AddProduct{"Sneakers", 4999, on_hand}, Product{}));
  return Fold(*Decide("p", ReserveStock{2, "r-1", absl::Minutes(10)}, product,
                      PastReservation::kNone, kNow),
              product);
}

void ExpectError(const absl::StatusOr<std::vector<Event>>& result,
                 absl::StatusCode code, const std::string& reason) {
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), code) << result.status();
  EXPECT_EQ(shop::ReasonOf(result.status()), reason) << result.status();
}

// Adding creates the product once; a second add is ALREADY_EXISTS.
TEST(ProductTest, AddProductOnlyOnce) {
  absl::StatusOr<std::vector<Event>> added =
      Decide("p", AddProduct{"Sneakers", 4999, 3}, Product{});
  ASSERT_TRUE(added.ok());
  Product product = Fold(*added);
  EXPECT_TRUE(product.exists);
  EXPECT_EQ(product.on_hand, 3);
  EXPECT_EQ(product.price_cents, 4999);
  ExpectError(Decide("p", AddProduct{"Again", 1, 1}, product),
              absl::StatusCode::kAlreadyExists, "PRODUCT_EXISTS");
}

// Receiving adds to on hand; an unknown product is NOT_FOUND.
TEST(ProductTest, ReceiveStockAddsUnits) {
  ExpectError(Decide("p", ReceiveStock{5, "po-1"}, Product{}),
              absl::StatusCode::kNotFound, "PRODUCT_NOT_FOUND");
  Product product = Stocked(3);
  product = Fold(*Decide("p", ReceiveStock{5, "po-1"}, product), product);
  EXPECT_EQ(product.on_hand, 8);
  EXPECT_EQ(product.available(), 6);
}

// A reservation holds units; more than available is refused with the facts.
TEST(ProductTest, ReserveHoldsUnitsAndRefusesOversell) {
  Product product = Stocked(3);
  EXPECT_EQ(product.reserved(), 2);
  EXPECT_EQ(product.available(), 1);
  absl::StatusOr<std::vector<Event>> refused =
      Decide("p", ReserveStock{2, "r-2", absl::Minutes(1)}, product,
             PastReservation::kNone, kNow);
  ExpectError(refused, absl::StatusCode::kFailedPrecondition,
              "INSUFFICIENT_STOCK");
  EXPECT_THAT(refused.status().message(),
              HasSubstr("insufficient stock for p: requested 2, available 1"));
  EXPECT_EQ(shop::ErrorInfoOf(refused.status())->metadata().at("available"),
            "1");

  absl::StatusOr<std::vector<Event>> last =
      Decide("p", ReserveStock{1, "r-2", absl::Minutes(1)}, product,
             PastReservation::kNone, kNow);
  ASSERT_TRUE(last.ok());
  product = Fold(*last, product);
  EXPECT_EQ(product.available(), 0);
  EXPECT_EQ(product.reservations().at("r-2").expires_at,
            kNow + absl::Minutes(1));
}

// The same reservation again reserves nothing; another quantity is refused.
TEST(ProductTest, ReserveIsIdempotentByReservationId) {
  Product product = Stocked(5);
  absl::StatusOr<std::vector<Event>> again =
      Decide("p", ReserveStock{2, "r-1", absl::Minutes(10)}, product,
             PastReservation::kNone, kNow);
  ASSERT_TRUE(again.ok());
  EXPECT_THAT(*again, SizeIs(0));
  ExpectError(Decide("p", ReserveStock{3, "r-1", absl::Minutes(10)}, product,
                     PastReservation::kNone, kNow),
              absl::StatusCode::kFailedPrecondition, "RESERVATION_MISMATCH");
}

// Repeating a reservation that is overdue but not yet swept does not hand
// back one that has already run out.
TEST(ProductTest, RepeatingAnOverdueReservationIsExpired) {
  Product product = Stocked(5);  // r-1 holds 2 units for 10 minutes
  ExpectError(Decide("p", ReserveStock{2, "r-1", absl::Minutes(10)}, product,
                     PastReservation::kNone, kNow + absl::Minutes(10)),
              absl::StatusCode::kFailedPrecondition, "RESERVATION_EXPIRED");
}

// An id whose reservation ended cannot be reserved again.
TEST(ProductTest, EndedReservationIdsAreNotReused) {
  Product product = Stocked(5);
  ExpectError(Decide("p", ReserveStock{1, "old", absl::Minutes(1)}, product,
                     PastReservation::kReleased, kNow),
              absl::StatusCode::kFailedPrecondition, "RESERVATION_RELEASED");
  ExpectError(Decide("p", ReserveStock{1, "old", absl::Minutes(1)}, product,
                     PastReservation::kCommitted, kNow),
              absl::StatusCode::kFailedPrecondition, "RESERVATION_COMMITTED");
}

// Overdue reservations are expired before a new one is judged.
TEST(ProductTest, ReserveExpiresOverdueReservationsFirst) {
  Product product = Stocked(2);  // all of it held by r-1 for 10 minutes
  ExpectError(Decide("p", ReserveStock{1, "r-2", absl::Minutes(1)}, product,
                     PastReservation::kNone, kNow),
              absl::StatusCode::kFailedPrecondition, "INSUFFICIENT_STOCK");
  absl::StatusOr<std::vector<Event>> later =
      Decide("p", ReserveStock{1, "r-2", absl::Minutes(1)}, product,
             PastReservation::kNone, kNow + absl::Minutes(11));
  ASSERT_TRUE(later.ok());
  ASSERT_THAT(*later, SizeIs(2));
  EXPECT_TRUE(std::holds_alternative<v1::ReservationExpired>((*later)[0]));
  product = Fold(*later, product);
  EXPECT_EQ(product.reserved(), 1);
}

// Release returns the units once; again is a no-op; unknown is NOT_FOUND.
TEST(ProductTest, ReleaseReturnsUnitsOnce) {
  Product product = Stocked(3);
  absl::StatusOr<std::vector<Event>> released =
      DecideRelease("p", "r-1", product, PastReservation::kNone);
  ASSERT_TRUE(released.ok());
  ASSERT_THAT(*released, SizeIs(1));
  EXPECT_EQ(std::get<v1::StockReleased>((*released)[0]).quantity(), 2);
  product = Fold(*released, product);
  EXPECT_EQ(product.available(), 3);

  absl::StatusOr<std::vector<Event>> twice =
      DecideRelease("p", "r-1", product, PastReservation::kReleased);
  ASSERT_TRUE(twice.ok());
  EXPECT_THAT(*twice, SizeIs(0));
  ExpectError(DecideRelease("p", "nope", product, PastReservation::kNone),
              absl::StatusCode::kNotFound, "RESERVATION_NOT_FOUND");
  ExpectError(DecideRelease("p", "sold", product, PastReservation::kCommitted),
              absl::StatusCode::kFailedPrecondition, "RESERVATION_COMMITTED");
}

// Commit sells the units once; an expired reservation cannot be sold.
TEST(ProductTest, CommitSellsLiveReservationsOnly) {
  Product product = Stocked(3);
  ExpectError(DecideCommit("p", "r-1", product, PastReservation::kNone,
                           kNow + absl::Minutes(10)),
              absl::StatusCode::kFailedPrecondition, "RESERVATION_EXPIRED");
  absl::StatusOr<std::vector<Event>> committed =
      DecideCommit("p", "r-1", product, PastReservation::kNone, kNow);
  ASSERT_TRUE(committed.ok());
  product = Fold(*committed, product);
  EXPECT_EQ(product.on_hand, 1);
  EXPECT_EQ(product.reserved(), 0);
  EXPECT_EQ(product.available(), 1);

  absl::StatusOr<std::vector<Event>> twice =
      DecideCommit("p", "r-1", product, PastReservation::kCommitted, kNow);
  ASSERT_TRUE(twice.ok());
  EXPECT_THAT(*twice, SizeIs(0));
  ExpectError(
      DecideCommit("p", "gone", product, PastReservation::kExpired, kNow),
      absl::StatusCode::kFailedPrecondition, "RESERVATION_EXPIRED");
  ExpectError(
      DecideCommit("p", "gone", product, PastReservation::kReleased, kNow),
      absl::StatusCode::kFailedPrecondition, "RESERVATION_RELEASED");
}

// Expiry returns exactly the overdue reservations' units.
TEST(ProductTest, ExpireReturnsOnlyOverdueUnits) {
  Product product = Stocked(5);
  EXPECT_THAT(DecideExpire(product, kNow + absl::Minutes(9)), SizeIs(0));
  std::vector<Event> expired = DecideExpire(product, kNow + absl::Minutes(10));
  ASSERT_THAT(expired, SizeIs(1));
  product = Fold(expired, product);
  EXPECT_EQ(product.available(), 5);
  EXPECT_FALSE(product.next_expiry().has_value());
}

// Expiry takes the soonest first, a bounded number per decision, and the
// totals follow every hold and drop.
TEST(ProductTest, ExpireIsBoundedAndSoonestFirst) {
  constexpr int kHeld = kMaxExpiriesPerDecision + 5;
  Product product = Fold(*Decide("p", AddProduct{"X", 1, kHeld}, Product{}));
  for (int i = 0; i < kHeld; ++i) {
    // Later ids expire sooner, so id order and expiry order differ.
    product = Fold(*Decide("p",
                           ReserveStock{1, absl::StrCat("r-", 1000 + i),
                                        absl::Minutes(10 + kHeld - i)},
                           product, PastReservation::kNone, kNow),
                   product);
  }
  EXPECT_EQ(product.reserved(), kHeld);
  EXPECT_EQ(product.next_expiry(), kNow + absl::Minutes(11));

  std::vector<Event> first = DecideExpire(product, kNow + absl::Hours(10));
  ASSERT_THAT(first, SizeIs(kMaxExpiriesPerDecision));
  EXPECT_EQ(std::get<v1::ReservationExpired>(first[0]).reservation_id(),
            absl::StrCat("r-", 1000 + kHeld - 1));
  product = Fold(first, product);
  EXPECT_EQ(product.reserved(), 5);
  EXPECT_EQ(product.next_expiry(),
            kNow + absl::Minutes(11 + kMaxExpiriesPerDecision));

  product = Fold(DecideExpire(product, kNow + absl::Hours(10)), product);
  EXPECT_EQ(product.reserved(), 0);
  EXPECT_EQ(product.available(), kHeld);
  EXPECT_FALSE(product.next_expiry().has_value());
}

// Every event survives the JSON codec under its type name.
TEST(ProductTest, EventsRoundTripThroughJson) {
  Product product = Stocked(5);
  std::vector<Event> events = *Decide("p", AddProduct{"X", 1, 2}, Product{});
  events.push_back(
      *DecideRelease("p", "r-1", product, PastReservation::kNone)->begin());
  for (const Event& event : events) {
    absl::StatusOr<Event> back = FromJson(TypeOf(event), ToJson(event));
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(TypeOf(*back), TypeOf(event));
    EXPECT_EQ(ToJson(*back), ToJson(event));
  }
  EXPECT_EQ(FromJson("stock.vanished", "{}").status().code(),
            absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace inventory
