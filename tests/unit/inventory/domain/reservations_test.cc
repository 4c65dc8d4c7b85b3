#include "absl/strings/str_cat.h"
#include "common/errors/errors.h"
#include "common/util/proto_time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/inventory/domain/commands.h"

namespace inventory {
namespace {

using ::testing::HasSubstr;
using ::testing::SizeIs;

const absl::Time kNow = absl::FromUnixSeconds(1'800'000'000);

Facts At(absl::Time now) { return {std::nullopt, now}; }

// Facts saying that history ended reservation `id` with an event of type T.
template <typename T>
Facts Ended(const std::string& id, absl::Time now = kNow) {
  T event;
  event.set_reservation_id(id);
  return {PastEvent{event, 9}, now};
}

Product Fold(const std::vector<Event>& events, Product product = {}) {
  for (const Event& event : events) product = Evolve(std::move(product), event);
  return product;
}

// A product with `on_hand` units and a reservation r-1 of 2 units.
Product Stocked(int64_t on_hand) {
  Product product = Fold(*Decide(
      "p", AddProductCommand{"Sneakers", 4999, on_hand}, Product{}, At(kNow)));
  return Fold(*Decide("p", ReserveStockCommand{2, "r-1", absl::Minutes(10), ""},
                      product, At(kNow)),
              product);
}

void ExpectError(const absl::StatusOr<std::vector<Event>>& result,
                 absl::StatusCode code, const std::string& reason) {
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), code) << result.status();
  EXPECT_EQ(shop::ReasonOf(result.status()), reason) << result.status();
}

// Adding creates the product once; a second add is ALREADY_EXISTS.
TEST(ReservationsTest, AddProductOnlyOnce) {
  absl::StatusOr<std::vector<Event>> added =
      Decide("p", AddProductCommand{"Sneakers", 4999, 3}, Product{}, At(kNow));
  ASSERT_TRUE(added.ok());
  Product product = Fold(*added);
  EXPECT_TRUE(product.exists);
  EXPECT_EQ(product.on_hand(), 3);
  EXPECT_EQ(product.price_cents, 4999);
  ExpectError(Decide("p", AddProductCommand{"Again", 1, 1}, product, At(kNow)),
              absl::StatusCode::kAlreadyExists, "PRODUCT_EXISTS");
}

// A reservation holds units; more than available is refused with the facts.
TEST(ReservationsTest, ReserveHoldsUnitsAndRefusesOversell) {
  Product product = Stocked(3);
  EXPECT_EQ(product.reserved(), 2);
  EXPECT_EQ(product.available(), 1);
  absl::StatusOr<std::vector<Event>> refused =
      Decide("p", ReserveStockCommand{2, "r-2", absl::Minutes(1), ""}, product,
             At(kNow));
  ExpectError(refused, absl::StatusCode::kFailedPrecondition,
              "INSUFFICIENT_STOCK");
  EXPECT_THAT(refused.status().message(),
              HasSubstr("insufficient stock for p: requested 2, available 1"));
  EXPECT_EQ(shop::ErrorInfoOf(refused.status())->metadata().at("available"),
            "1");

  absl::StatusOr<std::vector<Event>> last =
      Decide("p", ReserveStockCommand{1, "r-2", absl::Minutes(1), ""}, product,
             At(kNow));
  ASSERT_TRUE(last.ok());
  product = Fold(*last, product);
  EXPECT_EQ(product.available(), 0);
  EXPECT_EQ(product.reservations().at("r-2").expires_at,
            kNow + absl::Minutes(1));
}

// The same reservation again reserves nothing; another quantity is refused.
TEST(ReservationsTest, ReserveIsIdempotentByReservationId) {
  Product product = Stocked(5);
  absl::StatusOr<std::vector<Event>> again =
      Decide("p", ReserveStockCommand{2, "r-1", absl::Minutes(10), ""}, product,
             At(kNow));
  ASSERT_TRUE(again.ok());
  EXPECT_THAT(*again, SizeIs(0));
  ExpectError(Decide("p", ReserveStockCommand{3, "r-1", absl::Minutes(10), ""},
                     product, At(kNow)),
              absl::StatusCode::kFailedPrecondition, "RESERVATION_MISMATCH");
}

// Repeating a reservation that is overdue but not yet swept does not hand
// back one that has already run out.
TEST(ReservationsTest, RepeatingAnOverdueReservationIsExpired) {
  Product product = Stocked(5);  // r-1 holds 2 units for 10 minutes
  ExpectError(Decide("p", ReserveStockCommand{2, "r-1", absl::Minutes(10), ""},
                     product, At(kNow + absl::Minutes(10))),
              absl::StatusCode::kFailedPrecondition, "RESERVATION_EXPIRED");
}

// An id whose reservation ended cannot be reserved again.
TEST(ReservationsTest, EndedReservationIdsAreNotReused) {
  Product product = Stocked(5);
  ExpectError(Decide("p", ReserveStockCommand{1, "old", absl::Minutes(1), ""},
                     product, Ended<v1::StockReleased>("old")),
              absl::StatusCode::kFailedPrecondition, "RESERVATION_RELEASED");
  ExpectError(Decide("p", ReserveStockCommand{1, "old", absl::Minutes(1), ""},
                     product, Ended<v1::StockCommitted>("old")),
              absl::StatusCode::kFailedPrecondition, "RESERVATION_COMMITTED");
}

// Overdue reservations are expired before a new one is judged.
TEST(ReservationsTest, ReserveExpiresOverdueReservationsFirst) {
  Product product = Stocked(2);  // all of it held by r-1 for 10 minutes
  ExpectError(Decide("p", ReserveStockCommand{1, "r-2", absl::Minutes(1), ""},
                     product, At(kNow)),
              absl::StatusCode::kFailedPrecondition, "INSUFFICIENT_STOCK");
  absl::StatusOr<std::vector<Event>> later =
      Decide("p", ReserveStockCommand{1, "r-2", absl::Minutes(1), ""}, product,
             At(kNow + absl::Minutes(11)));
  ASSERT_TRUE(later.ok());
  ASSERT_THAT(*later, SizeIs(2));
  EXPECT_TRUE(std::holds_alternative<v1::ReservationExpired>((*later)[0]));
  product = Fold(*later, product);
  EXPECT_EQ(product.reserved(), 1);
}

// Release returns the units once; again is a no-op; unknown is NOT_FOUND.
TEST(ReservationsTest, ReleaseReturnsUnitsOnce) {
  Product product = Stocked(3);
  absl::StatusOr<std::vector<Event>> released =
      Decide("p", ReleaseStockCommand{"r-1"}, product, At(kNow));
  ASSERT_TRUE(released.ok());
  ASSERT_THAT(*released, SizeIs(1));
  EXPECT_EQ(std::get<v1::StockReleased>((*released)[0]).quantity(), 2);
  product = Fold(*released, product);
  EXPECT_EQ(product.available(), 3);

  absl::StatusOr<std::vector<Event>> twice =
      Decide("p", ReleaseStockCommand{"r-1"}, product,
             Ended<v1::StockReleased>("r-1"));
  ASSERT_TRUE(twice.ok());
  EXPECT_THAT(*twice, SizeIs(0));
  ExpectError(Decide("p", ReleaseStockCommand{"nope"}, product, At(kNow)),
              absl::StatusCode::kNotFound, "RESERVATION_NOT_FOUND");
  ExpectError(Decide("p", ReleaseStockCommand{"sold"}, product,
                     Ended<v1::StockCommitted>("sold")),
              absl::StatusCode::kFailedPrecondition, "RESERVATION_COMMITTED");
}

// Commit sells the units once; an expired reservation cannot be sold.
TEST(ReservationsTest, CommitSellsLiveReservationsOnly) {
  Product product = Stocked(3);
  ExpectError(Decide("p", CommitReservationCommand{"r-1", "o-1"}, product,
                     At(kNow + absl::Minutes(10))),
              absl::StatusCode::kFailedPrecondition, "RESERVATION_EXPIRED");
  absl::StatusOr<std::vector<Event>> committed =
      Decide("p", CommitReservationCommand{"r-1", "o-1"}, product, At(kNow));
  ASSERT_TRUE(committed.ok());
  product = Fold(*committed, product);
  // Sold units stay on hand, committed, until they ship.
  EXPECT_EQ(product.on_hand(), 3);
  EXPECT_EQ(product.reserved(), 0);
  EXPECT_EQ(product.Totals().committed, 2);
  EXPECT_EQ(product.available(), 1);
  EXPECT_EQ(product.orders().at("o-1").unshipped(), 2);

  absl::StatusOr<std::vector<Event>> twice =
      Decide("p", CommitReservationCommand{"r-1", "o-1"}, product,
             Ended<v1::StockCommitted>("r-1"));
  ASSERT_TRUE(twice.ok());
  EXPECT_THAT(*twice, SizeIs(0));
  ExpectError(Decide("p", CommitReservationCommand{"gone", "o-1"}, product,
                     Ended<v1::ReservationExpired>("gone")),
              absl::StatusCode::kFailedPrecondition, "RESERVATION_EXPIRED");
  ExpectError(Decide("p", CommitReservationCommand{"gone", "o-1"}, product,
                     Ended<v1::StockReleased>("gone")),
              absl::StatusCode::kFailedPrecondition, "RESERVATION_RELEASED");
}

// Expiry returns exactly the overdue reservations' units.
TEST(ReservationsTest, ExpireReturnsOnlyOverdueUnits) {
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
TEST(ReservationsTest, ExpireIsBoundedAndSoonestFirst) {
  constexpr int kHeld = kMaxExpiriesPerDecision + 5;
  Product product =
      Fold(*Decide("p", AddProductCommand{"X", 1, kHeld}, Product{}, At(kNow)));
  for (int i = 0; i < kHeld; ++i) {
    // Later ids expire sooner, so id order and expiry order differ.
    product =
        Fold(*Decide("p",
                     ReserveStockCommand{1, absl::StrCat("r-", 1000 + i),
                                         absl::Minutes(10 + kHeld - i), ""},
                     product, At(kNow)),
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

// A product with `a`, `b` and `c` units received in warehouses of those
// names (and none in main).
Product InWarehouses(int64_t a, int64_t b, int64_t c) {
  Product product =
      Fold(*Decide("p", AddProductCommand{"X", 1, 0}, Product{}, At(kNow)));
  for (const auto& [warehouse, units] :
       {std::pair<std::string, int64_t>{"a", a}, {"b", b}, {"c", c}}) {
    product = Fold(
        *Decide("p", ReceiveStockCommand{warehouse, units}, product, At(kNow)),
        product);
  }
  return product;
}

const v1::StockReserved& OnlyReserved(const std::vector<Event>& events) {
  return std::get<v1::StockReserved>(events.back());
}

Lines LinesOf(const v1::StockReserved& reserved) {
  Lines lines;
  for (const auto& line : reserved.lines()) {
    lines.push_back({line.warehouse_id(), line.quantity()});
  }
  return lines;
}

// A named warehouse serves the whole reservation or refuses it, naming the
// warehouse and what it has.
TEST(ReservationsTest, ReserveAtANamedWarehouse) {
  Product product = InWarehouses(3, 5, 0);
  absl::StatusOr<std::vector<Event>> at_a =
      Decide("p", ReserveStockCommand{3, "r-a", absl::Minutes(1), "a"}, product,
             At(kNow));
  ASSERT_TRUE(at_a.ok()) << at_a.status();
  EXPECT_EQ(LinesOf(OnlyReserved(*at_a)), (Lines{{"a", 3}}));
  product = Fold(*at_a, product);
  EXPECT_EQ(product.At("a").reserved, 3);
  EXPECT_EQ(product.At("a").available(), 0);
  EXPECT_EQ(product.At("b").reserved, 0);
  EXPECT_EQ(product.reservations().at("r-a").lines, (Lines{{"a", 3}}));

  // b could serve it, but the caller asked for a.
  absl::StatusOr<std::vector<Event>> refused =
      Decide("p", ReserveStockCommand{1, "r-2", absl::Minutes(1), "a"}, product,
             At(kNow));
  ExpectError(refused, absl::StatusCode::kFailedPrecondition,
              "INSUFFICIENT_STOCK");
  EXPECT_THAT(refused.status().message(),
              HasSubstr("at a: requested 1, available 0"));
  EXPECT_EQ(shop::ErrorInfoOf(refused.status())->metadata().at("warehouse_id"),
            "a");
  // The same id somewhere else is another reservation.
  ExpectError(Decide("p", ReserveStockCommand{3, "r-a", absl::Minutes(1), "b"},
                     product, At(kNow)),
              absl::StatusCode::kFailedPrecondition, "RESERVATION_MISMATCH");
}

// Without a warehouse, one that has it all serves it: the most available
// first, ties broken by id.
TEST(ReservationsTest, AllocationPrefersOneWarehouseWithTheMostAvailable) {
  Product product = InWarehouses(3, 5, 5);
  EXPECT_EQ(Allocate(product, 2), (Lines{{"b", 2}}));
  EXPECT_EQ(Allocate(product, 5), (Lines{{"b", 5}}));
  // c has more than b once b holds some.
  product =
      Fold(*Decide("p", ReserveStockCommand{1, "r-1", absl::Minutes(1), "b"},
                   product, At(kNow)),
           product);
  EXPECT_EQ(Allocate(product, 3), (Lines{{"c", 3}}));
  absl::StatusOr<std::vector<Event>> reserved =
      Decide("p", ReserveStockCommand{5, "r-2", absl::Minutes(1), ""}, product,
             At(kNow));
  ASSERT_TRUE(reserved.ok());
  EXPECT_EQ(LinesOf(OnlyReserved(*reserved)), (Lines{{"c", 5}}));
}

// When no warehouse can serve it all, the reservation is split in the same
// order, in one event; more than the total is refused whole.
TEST(ReservationsTest, AllocationSplitsOrRefusesWhole) {
  Product product = InWarehouses(3, 5, 4);
  absl::StatusOr<std::vector<Event>> split =
      Decide("p", ReserveStockCommand{11, "r-1", absl::Minutes(1), ""}, product,
             At(kNow));
  ASSERT_TRUE(split.ok()) << split.status();
  ASSERT_THAT(*split, SizeIs(1));
  EXPECT_EQ(OnlyReserved(*split).quantity(), 11);
  EXPECT_EQ(LinesOf(OnlyReserved(*split)),
            (Lines{{"b", 5}, {"c", 4}, {"a", 2}}));
  Product after = Fold(*split, product);
  EXPECT_EQ(after.At("a").reserved, 2);
  EXPECT_EQ(after.At("b").reserved, 5);
  EXPECT_EQ(after.At("c").reserved, 4);
  EXPECT_EQ(after.available(), 1);

  absl::StatusOr<std::vector<Event>> refused =
      Decide("p", ReserveStockCommand{13, "r-2", absl::Minutes(1), ""}, product,
             At(kNow));
  ExpectError(refused, absl::StatusCode::kFailedPrecondition,
              "INSUFFICIENT_STOCK");
  EXPECT_THAT(refused.status().message(),
              HasSubstr("requested 13, available 12"));
  EXPECT_EQ(shop::ErrorInfoOf(refused.status())->metadata().at("available"),
            "12");
  EXPECT_THAT(Allocate(product, 13), SizeIs(0));
}

// A partial release gives back the last allocated units first and keeps
// the rest; the whole of it gives back every line.
TEST(ReservationsTest, PartialReleaseGivesBackTheLastUnitsFirst) {
  Product product = InWarehouses(0, 5, 4);
  product =
      Fold(*Decide("p", ReserveStockCommand{7, "r-1", absl::Minutes(1), ""},
                   product, At(kNow)),
           product);  // b 5, c 2
  absl::StatusOr<std::vector<Event>> part =
      Decide("p", ReleaseStockCommand{"r-1", 3, "rel-1"}, product, At(kNow));
  ASSERT_TRUE(part.ok()) << part.status();
  ASSERT_THAT(*part, SizeIs(1));
  const auto& released = std::get<v1::StockReleased>((*part)[0]);
  EXPECT_EQ(released.quantity(), 3);
  EXPECT_EQ(released.remaining(), 4);
  EXPECT_EQ(released.release_id(), "rel-1");
  product = Fold(*part, product);
  EXPECT_EQ(product.At("c").reserved, 0);
  EXPECT_EQ(product.At("b").reserved, 4);
  EXPECT_EQ(product.reservations().at("r-1").quantity, 4);
  EXPECT_EQ(product.reservations().at("r-1").lines, (Lines{{"b", 4}}));

  ExpectError(Decide("p", ReleaseStockCommand{"r-1", 5, ""}, product, At(kNow)),
              absl::StatusCode::kFailedPrecondition,
              "RELEASE_EXCEEDS_RESERVATION");
  product = Fold(*Decide("p", ReleaseStockCommand{"r-1"}, product, At(kNow)),
                 product);
  EXPECT_TRUE(product.reservations().empty());
  EXPECT_EQ(product.Totals().reserved, 0);
  EXPECT_EQ(product.available(), 9);
}

// A partial release found in history by its release_id releases nothing
// more; the same id with other content is refused naming the field.
TEST(ReservationsTest, ReleaseIdIsIdempotent) {
  Product product = InWarehouses(0, 5, 0);
  product =
      Fold(*Decide("p", ReserveStockCommand{4, "r-1", absl::Minutes(1), ""},
                   product, At(kNow)),
           product);
  std::vector<Event> first =
      *Decide("p", ReleaseStockCommand{"r-1", 1, "rel-1"}, product, At(kNow));
  product = Fold(first, product);
  const Facts past{PastEvent{first[0], 3}, kNow};
  absl::StatusOr<std::vector<Event>> again =
      Decide("p", ReleaseStockCommand{"r-1", 1, "rel-1"}, product, past);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_THAT(*again, SizeIs(0));
  absl::StatusOr<std::vector<Event>> other =
      Decide("p", ReleaseStockCommand{"r-1", 2, "rel-1"}, product, past);
  ExpectError(other, absl::StatusCode::kFailedPrecondition, "RELEASE_MISMATCH");
  EXPECT_THAT(other.status().message(),
              HasSubstr("was recorded with quantity 1, not 2"));
  EXPECT_EQ(product.At("b").reserved, 3);
}

// Expiry gives every line back to the warehouse it came from.
TEST(ReservationsTest, ExpiryGivesBackToEachWarehouse) {
  Product product = InWarehouses(2, 3, 0);
  product =
      Fold(*Decide("p", ReserveStockCommand{5, "r-1", absl::Minutes(1), ""},
                   product, At(kNow)),
           product);
  EXPECT_EQ(product.available(), 0);
  std::vector<Event> expired = DecideExpire(product, kNow + absl::Minutes(1));
  ASSERT_THAT(expired, SizeIs(1));
  EXPECT_EQ(std::get<v1::ReservationExpired>(expired[0]).lines_size(), 2);
  product = Fold(expired, product);
  EXPECT_EQ(product.At("a").reserved, 0);
  EXPECT_EQ(product.At("b").reserved, 0);
  EXPECT_EQ(product.At("a").available(), 2);
  EXPECT_EQ(product.At("b").available(), 3);
}

// A commit moves each line from reserved to committed in its warehouse and
// to the order; the same reservation to another order is refused.
TEST(ReservationsTest, CommitToAnOrderKeepsUnitsOnHandPerWarehouse) {
  Product product = InWarehouses(2, 3, 0);
  product =
      Fold(*Decide("p", ReserveStockCommand{5, "r-1", absl::Minutes(1), ""},
                   product, At(kNow)),
           product);
  std::vector<Event> committed =
      *Decide("p", CommitReservationCommand{"r-1", "o-1"}, product, At(kNow));
  ASSERT_THAT(committed, SizeIs(1));
  EXPECT_EQ(std::get<v1::StockCommitted>(committed[0]).order_id(), "o-1");
  product = Fold(committed, product);
  EXPECT_EQ(product.At("a").on_hand, 2);
  EXPECT_EQ(product.At("a").committed, 2);
  EXPECT_EQ(product.At("b").committed, 3);
  EXPECT_EQ(product.Totals().reserved, 0);
  EXPECT_EQ(product.available(), 0);
  EXPECT_EQ(product.orders().at("o-1").committed.at("b"), 3);

  const Facts past{PastEvent{committed[0], 3}, kNow};
  ExpectError(
      Decide("p", CommitReservationCommand{"r-1", "o-2"}, product, past),
      absl::StatusCode::kFailedPrecondition, "RESERVATION_MISMATCH");
  EXPECT_THAT(
      *Decide("p", CommitReservationCommand{"r-1", "o-1"}, product, past),
      SizeIs(0));
}

// Events from before warehouses fold as they did: all in main, and a
// commit without an order took the units off hand.
TEST(ReservationsTest, EventsFromBeforeWarehousesFoldIntoMain) {
  v1::ProductAdded added;
  added.set_name("Old");
  added.set_quantity(10);
  v1::StockReceived received;
  received.set_quantity(2);
  v1::StockReserved reserved;
  reserved.set_quantity(3);
  reserved.set_reservation_id("r-1");
  *reserved.mutable_expires_at() = shop::ToProto(kNow + absl::Minutes(5));
  v1::StockReserved second = reserved;
  second.set_reservation_id("r-2");
  second.set_quantity(4);
  v1::StockCommitted committed;
  committed.set_quantity(3);
  committed.set_reservation_id("r-1");
  v1::StockReleased released;
  released.set_quantity(4);
  released.set_reservation_id("r-2");
  Product product = Fold({added, received, reserved, second});
  EXPECT_EQ(product.At(kMainWarehouse).reserved, 7);
  product = Fold({committed, released}, product);
  EXPECT_EQ(product.At(kMainWarehouse).on_hand, 9);
  EXPECT_EQ(product.At(kMainWarehouse).committed, 0);
  EXPECT_EQ(product.reserved(), 0);
  EXPECT_EQ(product.available(), 9);
  EXPECT_THAT(product.warehouses(), SizeIs(1));
}

// Every event survives the JSON codec under its type name.
TEST(ReservationsTest, EventsRoundTripThroughJson) {
  Product product = Stocked(5);
  std::vector<Event> events =
      *Decide("p", AddProductCommand{"X", 1, 2}, Product{}, At(kNow));
  events.push_back(
      *Decide("p", ReleaseStockCommand{"r-1"}, product, At(kNow))->begin());
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
