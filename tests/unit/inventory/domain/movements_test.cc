#include <string>
#include <utility>
#include <vector>

#include "common/errors/errors.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/inventory/domain/commands.h"

namespace inventory {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

const absl::Time kNow = absl::FromUnixSeconds(1'800'000'000);

Facts Now() { return {std::nullopt, kNow}; }
// Facts saying that history holds `event` as the command id's latest.
Facts After(Event event) { return {PastEvent{std::move(event), 7}, kNow}; }

Product Fold(const std::vector<Event>& events, Product product) {
  for (const Event& event : events) product = Evolve(std::move(product), event);
  return product;
}

// The events of a decision that must succeed.
template <typename C>
std::vector<Event> Events(const Product& product, const C& command,
                          const Facts& facts = Now()) {
  absl::StatusOr<std::vector<Event>> events =
      Decide("p", command, product, facts);
  EXPECT_TRUE(events.ok()) << events.status();
  return events.ok() ? *std::move(events) : std::vector<Event>{};
}

// The product after a decision that must succeed.
template <typename C>
Product Apply(Product product, const C& command, const Facts& facts = Now()) {
  std::vector<Event> events = Events(product, command, facts);
  return Fold(events, std::move(product));
}

template <typename C>
absl::Status Refusal(const Product& product, const C& command,
                     const Facts& facts = Now()) {
  absl::StatusOr<std::vector<Event>> events =
      Decide("p", command, product, facts);
  return events.ok() ? absl::OkStatus() : events.status();
}

void ExpectError(const absl::Status& status, absl::StatusCode code,
                 const std::string& reason) {
  EXPECT_EQ(status.code(), code) << status;
  EXPECT_EQ(shop::ReasonOf(status), reason) << status;
}

// 10 units in main and 6 in `east`.
Product Stocked() {
  Product product = Apply(Product{}, AddProductCommand{"X", 100, 10});
  return Apply(std::move(product), ReceiveStockCommand{"east", 6});
}

// Stocked, with order o-1 holding 4 units of main and 2 of east, committed.
Product Sold() {
  Product product = Stocked();
  product = Apply(std::move(product),
                  ReserveStockCommand{4, "r-1", absl::Minutes(5), "main"});
  product = Apply(std::move(product),
                  ReserveStockCommand{2, "r-2", absl::Minutes(5), "east"});
  product = Apply(std::move(product), CommitReservationCommand{"r-1", "o-1"});
  return Apply(std::move(product), CommitReservationCommand{"r-2", "o-1"});
}

ReturnStockCommand Return(const std::string& id, int64_t quantity,
                          v1::ReturnCondition condition) {
  return {"o-1", id, "main", quantity, v1::RETURN_REASON_DEFECTIVE, condition};
}

AdjustStockCommand Count(const std::string& id, int64_t counted,
                         v1::StockBucket bucket = v1::STOCK_BUCKET_SELLABLE) {
  return {id,
          "main",
          counted,
          std::nullopt,
          v1::ADJUSTMENT_REASON_PHYSICAL_COUNT,
          "aisle 4",
          bucket};
}

AdjustStockCommand Delta(const std::string& id, int64_t delta,
                         v1::StockBucket bucket = v1::STOCK_BUCKET_SELLABLE) {
  return {id, "main", std::nullopt, delta, v1::ADJUSTMENT_REASON_DAMAGE,
          "", bucket};
}

// A receipt adds to its warehouse only; no warehouse means main.
TEST(MovementsTest, ReceiveAddsToItsWarehouse) {
  Product product = Stocked();
  std::vector<Event> events =
      Events(product, ReceiveStockCommand{"", 3, "po-9", "rc-1", "acme", 250});
  ASSERT_THAT(events, SizeIs(1));
  const auto& received = std::get<v1::StockReceived>(events[0]);
  EXPECT_EQ(received.warehouse_id(), "main");
  EXPECT_EQ(received.receipt_id(), "rc-1");
  EXPECT_EQ(received.supplier(), "acme");
  EXPECT_EQ(received.unit_cost_cents(), 250);
  product = Fold(events, product);
  EXPECT_EQ(product.At("main").on_hand, 13);
  EXPECT_EQ(product.At("east").on_hand, 6);
  EXPECT_EQ(product.on_hand(), 19);
  EXPECT_EQ(product.available(), 19);
}

// A receipt id seen before with the same content receives nothing; with
// other content it is refused naming the field.
TEST(MovementsTest, ReceiptIdIsIdempotent) {
  Product product = Stocked();
  const ReceiveStockCommand command{"east", 3, "po-9", "rc-1", "acme", 250};
  const Facts past = After(Events(product, command)[0]);
  EXPECT_THAT(Events(product, command, past), IsEmpty());
  ReceiveStockCommand other = command;
  other.quantity = 4;
  absl::Status refused = Refusal(product, other, past);
  ExpectError(refused, absl::StatusCode::kFailedPrecondition,
              "RECEIPT_MISMATCH");
  EXPECT_THAT(
      refused.message(),
      HasSubstr("receipt rc-1 of p was recorded with quantity 3, not 4"));
  other = command;
  other.warehouse_id = "main";
  EXPECT_THAT(Refusal(product, other, past).message(),
              HasSubstr("warehouse_id east, not main"));
}

// Shipping takes committed units off hand where the order holds them;
// beyond what is committed is NOTHING_TO_SHIP.
TEST(MovementsTest, ShipTakesCommittedUnitsOffHand) {
  Product product = Sold();
  EXPECT_EQ(product.At("main").on_hand, 10);
  EXPECT_EQ(product.At("main").committed, 4);
  EXPECT_EQ(product.available(), 10);
  absl::Status refused = Refusal(product, ShipStockCommand{"o-1", "s-1", 7});
  ExpectError(refused, absl::StatusCode::kFailedPrecondition,
              "NOTHING_TO_SHIP");
  EXPECT_THAT(refused.message(), HasSubstr("has 6 units"));
  ExpectError(Refusal(product, ShipStockCommand{"o-9", "s-1", 1}),
              absl::StatusCode::kFailedPrecondition, "NOTHING_TO_SHIP");

  std::vector<Event> events =
      Events(product, ShipStockCommand{"o-1", "s-1", 5});
  ASSERT_THAT(events, SizeIs(1));
  EXPECT_EQ(std::get<v1::StockShipped>(events[0]).lines_size(), 2);
  product = Fold(events, product);
  EXPECT_EQ(product.At("east").on_hand, 4);
  EXPECT_EQ(product.At("east").committed, 0);
  EXPECT_EQ(product.At("main").on_hand, 7);
  EXPECT_EQ(product.At("main").committed, 1);
  EXPECT_EQ(product.orders().at("o-1").shipped, 5);
  EXPECT_EQ(product.orders().at("o-1").unshipped(), 1);
  EXPECT_EQ(product.available(), 10);
  ExpectError(Refusal(product, ShipStockCommand{"o-1", "s-2", 2}),
              absl::StatusCode::kFailedPrecondition, "NOTHING_TO_SHIP");
}

// A shipment id seen before ships nothing more; other content is refused.
TEST(MovementsTest, ShipmentIdIsIdempotent) {
  Product product = Sold();
  std::vector<Event> events =
      Events(product, ShipStockCommand{"o-1", "s-1", 6});
  const Facts past = After(events[0]);
  product = Fold(events, product);
  // Nothing is left to ship, yet the repeat is answered as the first was.
  EXPECT_THAT(Events(product, ShipStockCommand{"o-1", "s-1", 6}, past),
              IsEmpty());
  absl::Status refused =
      Refusal(product, ShipStockCommand{"o-1", "s-1", 5}, past);
  ExpectError(refused, absl::StatusCode::kFailedPrecondition,
              "SHIPMENT_MISMATCH");
  EXPECT_THAT(refused.message(), HasSubstr("quantity 6, not 5"));
}

// Cancelling gives an order's unshipped units back to available, once;
// the order then takes no more commits.
TEST(MovementsTest, CancelCommitmentFreesUnshippedUnits) {
  Product product = Sold();
  product = Apply(std::move(product), ShipStockCommand{"o-1", "s-1", 1});
  std::vector<Event> events =
      Events(product, CancelCommitmentCommand{"o-1", "customer cancelled"});
  ASSERT_THAT(events, SizeIs(1));
  EXPECT_EQ(std::get<v1::CommitmentCancelled>(events[0]).quantity(), 5);
  product = Fold(events, product);
  EXPECT_EQ(product.Totals().committed, 0);
  EXPECT_EQ(product.on_hand(), 15);
  EXPECT_EQ(product.available(), 15);
  EXPECT_THAT(Events(product, CancelCommitmentCommand{"o-1", "again"}),
              IsEmpty());
  ExpectError(Refusal(product, CancelCommitmentCommand{"o-9", ""}),
              absl::StatusCode::kNotFound, "ORDER_NOT_FOUND");

  product = Apply(std::move(product),
                  ReserveStockCommand{1, "r-3", absl::Minutes(5), ""});
  ExpectError(Refusal(product, CommitReservationCommand{"r-3", "o-1"}),
              absl::StatusCode::kFailedPrecondition, "ORDER_CANCELLED");
}

// An order that shipped everything has nothing to cancel.
TEST(MovementsTest, NothingToCancelOnceShipped) {
  Product product = Apply(Sold(), ShipStockCommand{"o-1", "s-1", 6});
  ExpectError(Refusal(product, CancelCommitmentCommand{"o-1", ""}),
              absl::StatusCode::kFailedPrecondition, "NOTHING_TO_CANCEL");
}

// A return by condition: resellable back on hand, damaged quarantined,
// disposed recorded only; never more than the order shipped minus its
// returns.
TEST(MovementsTest, ReturnsByConditionAndNeverTwice) {
  Product product = Apply(Sold(), ShipStockCommand{"o-1", "s-1", 6});
  EXPECT_EQ(product.At("main").on_hand, 6);
  ExpectError(
      Refusal(product, Return("ret-0", 7, v1::RETURN_CONDITION_RESELLABLE)),
      absl::StatusCode::kFailedPrecondition, "RETURN_EXCEEDS_SHIPPED");

  product = Apply(std::move(product),
                  Return("ret-1", 2, v1::RETURN_CONDITION_RESELLABLE));
  EXPECT_EQ(product.At("main").on_hand, 8);
  EXPECT_EQ(product.At("main").available(), 8);

  product = Apply(std::move(product),
                  Return("ret-2", 3, v1::RETURN_CONDITION_DAMAGED));
  EXPECT_EQ(product.At("main").on_hand, 8);
  EXPECT_EQ(product.At("main").damaged, 3);
  EXPECT_EQ(product.At("main").available(), 8);

  product = Apply(std::move(product),
                  Return("ret-3", 1, v1::RETURN_CONDITION_DISPOSE));
  EXPECT_EQ(product.At("main").on_hand, 8);
  EXPECT_EQ(product.At("main").damaged, 3);
  EXPECT_EQ(product.orders().at("o-1").returned, 6);

  // The same units a second time, under a new return id.
  absl::Status again =
      Refusal(product, Return("ret-4", 1, v1::RETURN_CONDITION_RESELLABLE));
  ExpectError(again, absl::StatusCode::kFailedPrecondition,
              "RETURN_EXCEEDS_SHIPPED");
  EXPECT_THAT(again.message(),
              HasSubstr("shipped 6 units of p and returned 6"));
  ExpectError(
      Refusal(product, ReturnStockCommand{"o-9", "ret-5", "main", 1,
                                          v1::RETURN_REASON_WRONG_ITEM,
                                          v1::RETURN_CONDITION_DISPOSE}),
      absl::StatusCode::kFailedPrecondition, "RETURN_EXCEEDS_SHIPPED");
}

// Units committed but not shipped cannot come back.
TEST(MovementsTest, UnshippedUnitsCannotBeReturned) {
  ExpectError(
      Refusal(Sold(), Return("ret-1", 1, v1::RETURN_CONDITION_RESELLABLE)),
      absl::StatusCode::kFailedPrecondition, "RETURN_EXCEEDS_SHIPPED");
}

// A return id seen before returns nothing more, even when the order has
// nothing left to return; other content is refused naming the field.
TEST(MovementsTest, ReturnIdIsIdempotent) {
  Product product = Apply(Sold(), ShipStockCommand{"o-1", "s-1", 2});
  const ReturnStockCommand command =
      Return("ret-1", 2, v1::RETURN_CONDITION_DAMAGED);
  std::vector<Event> events = Events(product, command);
  const Facts past = After(events[0]);
  product = Fold(events, product);
  EXPECT_THAT(Events(product, command, past), IsEmpty());
  absl::Status refused = Refusal(
      product, Return("ret-1", 2, v1::RETURN_CONDITION_RESELLABLE), past);
  ExpectError(refused, absl::StatusCode::kFailedPrecondition,
              "RETURN_MISMATCH");
  EXPECT_THAT(refused.message(),
              HasSubstr("condition RETURN_CONDITION_DAMAGED, not "
                        "RETURN_CONDITION_RESELLABLE"));
  EXPECT_EQ(product.At("main").damaged, 2);
}

// A transfer leaves the source's available at once and waits in the
// destination's incoming; reserved units cannot go.
TEST(MovementsTest, TransferMovesAvailableUnitsIntoIncoming) {
  Product product =
      Apply(Stocked(), ReserveStockCommand{4, "r-1", absl::Minutes(5), "east"});
  absl::Status refused =
      Refusal(product, TransferStockCommand{"t-1", "east", "main", 3});
  ExpectError(refused, absl::StatusCode::kFailedPrecondition,
              "INSUFFICIENT_STOCK");
  EXPECT_THAT(refused.message(),
              HasSubstr("at east: requested 3, available 2"));

  product =
      Apply(std::move(product), TransferStockCommand{"t-1", "main", "east", 7});
  EXPECT_EQ(product.At("main").on_hand, 3);
  EXPECT_EQ(product.At("east").incoming, 7);
  EXPECT_EQ(product.At("east").on_hand, 6);
  EXPECT_EQ(product.Totals().incoming, 7);
  EXPECT_EQ(product.available(), 5);
  EXPECT_EQ(product.transfers().at("t-1").quantity, 7);

  // In transit, the same transfer again moves nothing; other content is
  // refused.
  EXPECT_THAT(Events(product, TransferStockCommand{"t-1", "main", "east", 7}),
              IsEmpty());
  absl::Status mismatch =
      Refusal(product, TransferStockCommand{"t-1", "main", "east", 2});
  ExpectError(mismatch, absl::StatusCode::kFailedPrecondition,
              "TRANSFER_MISMATCH");
  EXPECT_THAT(mismatch.message(), HasSubstr("quantity 7, not 2"));
}

// A transfer received short puts what arrived on hand and records the rest
// as lost; it cannot be received twice, or more than was sent.
TEST(MovementsTest, ReceiveTransferShortRecordsTheLoss) {
  Product product =
      Apply(Stocked(), TransferStockCommand{"t-1", "main", "east", 5});
  absl::Status over = Refusal(product, ReceiveTransferCommand{"t-1", 6});
  ExpectError(over, absl::StatusCode::kFailedPrecondition,
              "TRANSFER_OVER_RECEIVED");
  std::vector<Event> events = Events(product, ReceiveTransferCommand{"t-1", 3});
  ASSERT_THAT(events, SizeIs(1));
  const auto& received = std::get<v1::TransferReceived>(events[0]);
  EXPECT_EQ(received.quantity_dispatched(), 5);
  EXPECT_EQ(received.quantity_received(), 3);
  EXPECT_EQ(received.quantity_lost(), 2);
  EXPECT_EQ(received.to_warehouse_id(), "east");
  product = Fold(events, product);
  EXPECT_EQ(product.At("east").incoming, 0);
  EXPECT_EQ(product.At("east").on_hand, 9);
  EXPECT_EQ(product.At("main").on_hand, 5);
  EXPECT_EQ(product.on_hand(), 14);
  EXPECT_TRUE(product.transfers().empty());

  absl::Status twice =
      Refusal(product, ReceiveTransferCommand{"t-1", 3}, After(events[0]));
  ExpectError(twice, absl::StatusCode::kFailedPrecondition,
              "TRANSFER_ALREADY_RECEIVED");
  EXPECT_THAT(twice.message(), HasSubstr("(3 of 5 units)"));
  ExpectError(Refusal(product, ReceiveTransferCommand{"t-9", 1}),
              absl::StatusCode::kNotFound, "TRANSFER_NOT_FOUND");
  // Once received, the transfer id is spent: the same dispatch again is a
  // repeat, another one a mismatch.
  EXPECT_THAT(Events(product, TransferStockCommand{"t-1", "main", "east", 5},
                     After(events[0])),
              IsEmpty());
  ExpectError(Refusal(product, TransferStockCommand{"t-1", "main", "east", 1},
                      After(events[0])),
              absl::StatusCode::kFailedPrecondition, "TRANSFER_MISMATCH");
}

// A count replaces on_hand and records the delta and both quantities; a
// delta moves it; neither may leave it below zero.
TEST(MovementsTest, AdjustByCountOrByDelta) {
  Product product = Stocked();
  std::vector<Event> events = Events(product, Count("adj-1", 7));
  ASSERT_THAT(events, SizeIs(1));
  const auto& counted = std::get<v1::StockAdjusted>(events[0]);
  EXPECT_EQ(counted.previous_quantity(), 10);
  EXPECT_EQ(counted.new_quantity(), 7);
  EXPECT_EQ(counted.delta(), -3);
  EXPECT_EQ(counted.notes(), "aisle 4");
  EXPECT_TRUE(counted.counted());
  product = Fold(events, product);
  EXPECT_EQ(product.At("main").on_hand, 7);

  product = Apply(std::move(product), Delta("adj-2", 2));
  EXPECT_EQ(product.At("main").on_hand, 9);
  EXPECT_EQ(product.At("east").on_hand, 6);
  ExpectError(Refusal(product, Delta("adj-3", -10)),
              absl::StatusCode::kFailedPrecondition, "ADJUSTMENT_BELOW_ZERO");
}

// The damaged bucket is adjusted on its own: quarantined units are
// written off without touching sellable stock.
TEST(MovementsTest, AdjustTheDamagedBucket) {
  Product product = Apply(Sold(), ShipStockCommand{"o-1", "s-1", 3});
  product = Apply(std::move(product),
                  Return("ret-1", 3, v1::RETURN_CONDITION_DAMAGED));
  EXPECT_EQ(product.At("main").damaged, 3);
  const int64_t on_hand = product.At("main").on_hand;
  std::vector<Event> events =
      Events(product, Delta("adj-1", -2, v1::STOCK_BUCKET_DAMAGED));
  EXPECT_EQ(std::get<v1::StockAdjusted>(events[0]).previous_quantity(), 3);
  EXPECT_EQ(std::get<v1::StockAdjusted>(events[0]).bucket(),
            v1::STOCK_BUCKET_DAMAGED);
  product = Fold(events, product);
  EXPECT_EQ(product.At("main").damaged, 1);
  EXPECT_EQ(product.At("main").on_hand, on_hand);
  product =
      Apply(std::move(product), Count("adj-2", 0, v1::STOCK_BUCKET_DAMAGED));
  EXPECT_EQ(product.At("main").damaged, 0);
  ExpectError(Refusal(product, Delta("adj-3", -1, v1::STOCK_BUCKET_DAMAGED)),
              absl::StatusCode::kFailedPrecondition, "ADJUSTMENT_BELOW_ZERO");
}

// Reality wins: a count below what is promised is recorded as counted;
// available floors at 0, the shortfall shows, and nothing more is
// reserved until stock returns.
TEST(MovementsTest, CountBelowPromisedShowsShortfall) {
  Product product = Sold();  // main: 4 committed of 10
  product = Apply(std::move(product),
                  ReserveStockCommand{3, "r-3", absl::Minutes(5), "main"});
  product = Apply(std::move(product), Count("adj-1", 5));
  const WarehouseStock main = product.At("main");
  EXPECT_EQ(main.on_hand, 5);
  EXPECT_EQ(main.available(), 0);
  EXPECT_EQ(main.shortfall(), 2);
  ExpectError(
      Refusal(product, ReserveStockCommand{1, "r-4", absl::Minutes(5), "main"}),
      absl::StatusCode::kFailedPrecondition, "INSUFFICIENT_STOCK");
  // East still has its own.
  EXPECT_EQ(product.available(), 4);

  product = Apply(std::move(product), ReceiveStockCommand{"main", 3});
  EXPECT_EQ(product.At("main").shortfall(), 0);
  EXPECT_EQ(product.At("main").available(), 1);
}

// An adjustment id seen before adjusts nothing more (a delta would apply
// twice); other content is refused naming the field.
TEST(MovementsTest, AdjustmentIdIsIdempotent) {
  Product product = Stocked();
  std::vector<Event> events = Events(product, Delta("adj-1", -10));
  const Facts past = After(events[0]);
  product = Fold(events, product);
  EXPECT_EQ(product.At("main").on_hand, 0);
  EXPECT_THAT(Events(product, Delta("adj-1", -10), past), IsEmpty());
  absl::Status refused = Refusal(product, Delta("adj-1", -9), past);
  ExpectError(refused, absl::StatusCode::kFailedPrecondition,
              "ADJUSTMENT_MISMATCH");
  EXPECT_THAT(refused.message(), HasSubstr("delta -10, not -9"));
  EXPECT_THAT(Refusal(product, Count("adj-1", 0), past).message(),
              HasSubstr("counted_quantity a delta, not 0"));
}

// Every movement of a product that does not exist is NOT_FOUND.
TEST(MovementsTest, UnknownProductIsNotFound) {
  const Product none;
  for (const absl::Status& status :
       {Refusal(none, ReceiveStockCommand{"", 1}),
        Refusal(none, ShipStockCommand{"o", "s", 1}),
        Refusal(none, CancelCommitmentCommand{"o", ""}),
        Refusal(none, Return("r", 1, v1::RETURN_CONDITION_DISPOSE)),
        Refusal(none, TransferStockCommand{"t", "main", "east", 1}),
        Refusal(none, ReceiveTransferCommand{"t", 1}),
        Refusal(none, Count("a", 1))}) {
    ExpectError(status, absl::StatusCode::kNotFound, "PRODUCT_NOT_FOUND");
  }
}

// Every movement's event survives the JSON codec and folds the same.
TEST(MovementsTest, MovementEventsRoundTripThroughJson) {
  Product product =
      Apply(Sold(), TransferStockCommand{"t-1", "main", "east", 2});
  std::vector<Event> events = {
      Events(product, ShipStockCommand{"o-1", "s-1", 2})[0],
      Events(product, CancelCommitmentCommand{"o-1", "why"})[0],
      Events(product, ReceiveTransferCommand{"t-1", 1})[0],
      Events(product, Count("adj-1", 3))[0]};
  Product shipped = Fold({events[0]}, product);
  events.push_back(
      Events(shipped, Return("ret-1", 1, v1::RETURN_CONDITION_DAMAGED))[0]);
  for (const Event& event : events) {
    absl::StatusOr<Event> back = FromJson(TypeOf(event), ToJson(event));
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(TypeOf(*back), TypeOf(event));
    EXPECT_EQ(ToJson(*back), ToJson(event));
  }
}

}  // namespace
}  // namespace inventory
