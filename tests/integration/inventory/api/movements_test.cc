#include <string>
#include <variant>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/inventory/domain/events.h"
#include "tests/support/movement_calls.h"

// The stock movements through a real gRPC channel to a real server on a
// real PostgreSQL schema: every figure per warehouse and in total after
// each step, and each refusal's code and reason.
namespace inventory {
namespace {

using ::shop::testing::IsOk;
using ::shop::testing::MovementTest;
using ::shop::testing::StatusIs;
using ::shop::testing::movements::ArrivalOf;
using ::shop::testing::movements::CancelOf;
using ::shop::testing::movements::CommitOf;
using ::shop::testing::movements::CountOf;
using ::shop::testing::movements::DeltaOf;
using ::shop::testing::movements::Describe;
using ::shop::testing::movements::ErrorFact;
using ::shop::testing::movements::ExpectedStock;
using ::shop::testing::movements::FiguresOf;
using ::shop::testing::movements::ReceiveOf;
using ::shop::testing::movements::ReleaseOf;
using ::shop::testing::movements::ReserveOf;
using ::shop::testing::movements::ReturnOf;
using ::shop::testing::movements::ShipOf;
using ::shop::testing::movements::TransferOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::SizeIs;

using Code = absl::StatusCode;

class MovementsTest : public MovementTest {
 protected:
  // "warehouse quantity" per line, in the answer's order.
  template <typename Repeated>
  static std::vector<std::string> LinesOf(const Repeated& lines) {
    std::vector<std::string> out;
    for (const v1::WarehouseQuantity& line : lines) {
      out.push_back(absl::StrCat(line.warehouse_id(), " ", line.quantity()));
    }
    return out;
  }

  static std::vector<std::string> IdsOf(const v1::ListWarehousesResponse& r) {
    std::vector<std::string> ids;
    for (const v1::Warehouse& w : r.warehouses())
      ids.push_back(w.warehouse_id());
    return ids;
  }

  // The product's newest event, decoded.
  template <typename T>
  T Last(const std::string& product) {
    std::vector<v1::RecordedEvent> events = Events(product);
    EXPECT_FALSE(events.empty());
    if (events.empty()) return T();
    absl::StatusOr<Event> event =
        FromJson(events.back().type(), events.back().data_json());
    EXPECT_TRUE(event.ok()) << event.status();
    const T* typed = event.ok() ? std::get_if<T>(&*event) : nullptr;
    EXPECT_NE(typed, nullptr) << "newest event is " << events.back().type();
    return typed == nullptr ? T() : *typed;
  }
};

// Warehouse main exists from the migration; added ones are listed by id,
// page by page; a taken id is ALREADY_EXISTS and keeps its first name.
TEST_F(MovementsTest, WarehousesAreAddedOnceAndListed) {
  v1::ListWarehousesResponse listed;
  ASSERT_THAT(ListWarehouses({}, &listed), IsOk());
  EXPECT_THAT(IdsOf(listed), ElementsAre("main"));

  v1::AddWarehouseRequest add;
  add.set_warehouse_id("east");
  add.set_name("East depot");
  v1::AddWarehouseResponse added;
  ASSERT_THAT(AddWarehouse(add, &added), IsOk());
  EXPECT_EQ(added.warehouse().warehouse_id(), "east");
  EXPECT_EQ(added.warehouse().name(), "East depot");
  EXPECT_GT(added.warehouse().added_at().seconds(), 0);
  NewWarehouse("west");

  add.set_name("Another east");
  grpc::Status taken = AddWarehouse(add);
  EXPECT_THAT(taken, StatusIs(Code::kAlreadyExists, "WAREHOUSE_EXISTS"));
  EXPECT_THAT(taken.error_message(), HasSubstr("east"));

  listed.Clear();
  ASSERT_THAT(ListWarehouses({}, &listed), IsOk());
  EXPECT_THAT(IdsOf(listed), ElementsAre("east", "main", "west"));
  EXPECT_EQ(listed.warehouses(0).name(), "East depot");
  EXPECT_TRUE(listed.next_page_token().empty());

  v1::ListWarehousesRequest page;
  page.set_page_size(2);
  listed.Clear();
  ASSERT_THAT(ListWarehouses(page, &listed), IsOk());
  EXPECT_THAT(IdsOf(listed), ElementsAre("east", "main"));
  ASSERT_FALSE(listed.next_page_token().empty());
  page.set_page_token(listed.next_page_token());
  listed.Clear();
  ASSERT_THAT(ListWarehouses(page, &listed), IsOk());
  EXPECT_THAT(IdsOf(listed), ElementsAre("west"));
  EXPECT_TRUE(listed.next_page_token().empty());
}

// Every movement naming an unknown warehouse is NOT_FOUND /
// WAREHOUSE_NOT_FOUND and writes nothing: figures, version and history are
// as they were, and the ids it carried are still unused.
TEST_F(MovementsTest, UnknownWarehouseIsNotFoundAndWritesNothing) {
  NewWarehouse("east");
  NewProduct("p", 5);
  ASSERT_THAT(ReceiveStock(ReceiveOf("p", "east", 3)), IsOk());
  ASSERT_THAT(ReserveStock(ReserveOf("p", "r-1", 2, "main")), IsOk());
  ASSERT_THAT(CommitReservation(CommitOf("p", "r-1", "o-1")), IsOk());
  ASSERT_THAT(ShipStock(ShipOf("p", "o-1", "s-1", 2)), IsOk());
  const std::string before = StockOf("p");
  const int64_t version = Stock("p").version();
  const size_t events = Events("p").size();
  ASSERT_EQ(version, 5);

  const v1::ReturnCondition resellable = v1::RETURN_CONDITION_RESELLABLE;
  const std::vector<std::pair<std::string, grpc::Status>> refused = {
      {"receive", ReceiveStock(ReceiveOf("p", "nowhere", 1, "rc-1"))},
      {"reserve", ReserveStock(ReserveOf("p", "r-2", 1, "nowhere"))},
      {"return",
       ReturnStock(ReturnOf("p", "o-1", "ret-1", "nowhere", 1, resellable))},
      {"transfer from",
       TransferStock(TransferOf("p", "t-1", "nowhere", "east", 1))},
      {"transfer to",
       TransferStock(TransferOf("p", "t-2", "main", "nowhere", 1))},
      {"adjust", AdjustStock(CountOf("p", "a-1", "nowhere", 0))},
  };
  for (const auto& [what, status] : refused) {
    EXPECT_THAT(status, StatusIs(Code::kNotFound, "WAREHOUSE_NOT_FOUND"))
        << what;
    EXPECT_THAT(status.error_message(), HasSubstr("nowhere")) << what;
  }
  EXPECT_EQ(StockOf("p"), before);
  EXPECT_EQ(Stock("p").version(), version);
  EXPECT_THAT(Events("p"), SizeIs(events));

  // Nothing was recorded under those ids: they work for real warehouses.
  ASSERT_THAT(ReserveStock(ReserveOf("p", "r-2", 1, "east")), IsOk());
  ASSERT_THAT(ReturnStock(ReturnOf("p", "o-1", "ret-1", "east", 1, resellable)),
              IsOk());
  ASSERT_THAT(TransferStock(TransferOf("p", "t-1", "main", "east", 1)), IsOk());
  EXPECT_EQ(StockOf("p"),
            ExpectedStock({
                {"east",
                 {.on_hand = 4, .reserved = 1, .available = 3, .incoming = 1}},
                {"main", {.on_hand = 2, .available = 2}},
            }));
}

// A reservation no single warehouse can hold is split over them, most
// available first, in one event; more than all of them hold is refused
// whole, naming the total; releases give units back to where they came
// from, and commit and shipment go warehouse by warehouse.
TEST_F(MovementsTest, SplitReservationAcrossThreeWarehouses) {
  NewWarehouse("east");
  NewWarehouse("west");
  NewProduct("p");
  ASSERT_THAT(ReceiveStock(ReceiveOf("p", "main", 4)), IsOk());
  ASSERT_THAT(ReceiveStock(ReceiveOf("p", "east", 3)), IsOk());
  ASSERT_THAT(ReceiveStock(ReceiveOf("p", "west", 2)), IsOk());
  EXPECT_EQ(StockOf("p"), ExpectedStock({
                              {"east", {.on_hand = 3, .available = 3}},
                              {"main", {.on_hand = 4, .available = 4}},
                              {"west", {.on_hand = 2, .available = 2}},
                          }));

  v1::ReserveStockResponse reserved;
  ASSERT_THAT(ReserveStock(ReserveOf("p", "r-1", 8), &reserved), IsOk());
  EXPECT_EQ(reserved.quantity(), 8);
  EXPECT_EQ(reserved.available(), 1);
  EXPECT_THAT(LinesOf(reserved.lines()),
              ElementsAre("main 4", "east 3", "west 1"));
  EXPECT_THAT(LinesOf(Last<v1::StockReserved>("p").lines()),
              ElementsAre("main 4", "east 3", "west 1"));
  EXPECT_EQ(StockOf("p"),
            ExpectedStock({
                {"east", {.on_hand = 3, .reserved = 3}},
                {"main", {.on_hand = 4, .reserved = 4}},
                {"west", {.on_hand = 2, .reserved = 1, .available = 1}},
            }));
  const std::string split = StockOf("p");
  const int64_t version = Stock("p").version();

  grpc::Status too_many = ReserveStock(ReserveOf("p", "r-2", 2));
  EXPECT_THAT(too_many,
              StatusIs(Code::kFailedPrecondition, "INSUFFICIENT_STOCK"));
  EXPECT_EQ(too_many.error_message(),
            "insufficient stock for p: requested 2, available 1");
  grpc::Status at_east = ReserveStock(ReserveOf("p", "r-2", 1, "east"));
  EXPECT_THAT(at_east,
              StatusIs(Code::kFailedPrecondition, "INSUFFICIENT_STOCK"));
  EXPECT_EQ(at_east.error_message(),
            "insufficient stock for p at east: requested 1, available 0");
  EXPECT_EQ(StockOf("p"), split);
  EXPECT_EQ(Stock("p").version(), version);

  // The last units held go back first: west's, then one of east's.
  v1::ReleaseStockResponse released;
  ASSERT_THAT(ReleaseStock(ReleaseOf("p", "r-1", 2, "rel-1"), &released),
              IsOk());
  EXPECT_EQ(released.released_quantity(), 2);
  EXPECT_EQ(released.remaining_quantity(), 6);
  EXPECT_EQ(StockOf("p"),
            ExpectedStock({
                {"east", {.on_hand = 3, .reserved = 2, .available = 1}},
                {"main", {.on_hand = 4, .reserved = 4}},
                {"west", {.on_hand = 2, .available = 2}},
            }));

  v1::CommitReservationResponse committed;
  ASSERT_THAT(CommitReservation(CommitOf("p", "r-1", "o-1"), &committed),
              IsOk());
  EXPECT_EQ(committed.committed_quantity(), 6);
  EXPECT_EQ(committed.on_hand(), 9);
  EXPECT_THAT(LinesOf(committed.lines()), ElementsAre("main 4", "east 2"));
  const std::string after_commit =
      ExpectedStock({{"east", {.on_hand = 3, .committed = 2, .available = 1}},
                     {"main", {.on_hand = 4, .committed = 4}},
                     {"west", {.on_hand = 2, .available = 2}}});
  EXPECT_EQ(StockOf("p"), after_commit);

  // A second split (west 2, east 1) released whole gives back the same.
  reserved.Clear();
  ASSERT_THAT(ReserveStock(ReserveOf("p", "r-2", 3), &reserved), IsOk());
  EXPECT_THAT(LinesOf(reserved.lines()), ElementsAre("west 2", "east 1"));
  EXPECT_EQ(
      StockOf("p"),
      ExpectedStock({{"east", {.on_hand = 3, .reserved = 1, .committed = 2}},
                     {"main", {.on_hand = 4, .committed = 4}},
                     {"west", {.on_hand = 2, .reserved = 2}}}));
  released.Clear();
  ASSERT_THAT(ReleaseStock(ReleaseOf("p", "r-2"), &released), IsOk());
  EXPECT_EQ(released.released_quantity(), 3);
  EXPECT_EQ(released.remaining_quantity(), 0);
  EXPECT_EQ(StockOf("p"), after_commit);

  v1::ShipStockResponse shipped;
  ASSERT_THAT(ShipStock(ShipOf("p", "o-1", "s-1", 6), &shipped), IsOk());
  EXPECT_THAT(LinesOf(shipped.lines()), ElementsAre("east 2", "main 4"));
  EXPECT_EQ(shipped.on_hand(), 3);
  EXPECT_EQ(StockOf("p"), ExpectedStock({
                              {"east", {.on_hand = 1, .available = 1}},
                              {"main", {}},
                              {"west", {.on_hand = 2, .available = 2}},
                          }));
}

// An order's commitment ships from where it is held; what has not shipped
// can be cancelled back to available (once); returns come back by
// condition, and never more than the order shipped.
TEST_F(MovementsTest, ShipCancelAndReturnByCondition) {
  NewWarehouse("east");
  NewProduct("p");
  ASSERT_THAT(ReceiveStock(ReceiveOf("p", "main", 5)), IsOk());
  ASSERT_THAT(ReceiveStock(ReceiveOf("p", "east", 5)), IsOk());
  v1::ReserveStockResponse reserved;
  ASSERT_THAT(ReserveStock(ReserveOf("p", "r-1", 7), &reserved), IsOk());
  // Equal availability: ties go by id.
  EXPECT_THAT(LinesOf(reserved.lines()), ElementsAre("east 5", "main 2"));
  ASSERT_THAT(CommitReservation(CommitOf("p", "r-1", "o-1")), IsOk());
  EXPECT_EQ(StockOf("p"),
            ExpectedStock(
                {{"east", {.on_hand = 5, .committed = 5}},
                 {"main", {.on_hand = 5, .committed = 2, .available = 3}}}));

  v1::ShipStockResponse shipped;
  ASSERT_THAT(ShipStock(ShipOf("p", "o-1", "s-1", 4), &shipped), IsOk());
  EXPECT_EQ(shipped.shipped_quantity(), 4);
  EXPECT_THAT(LinesOf(shipped.lines()), ElementsAre("east 4"));
  EXPECT_EQ(shipped.on_hand(), 6);
  const std::string after_ship =
      ExpectedStock({{"east", {.on_hand = 1, .committed = 1}},
                     {"main", {.on_hand = 5, .committed = 2, .available = 3}}});
  EXPECT_EQ(StockOf("p"), after_ship);

  const int64_t version = Stock("p").version();
  grpc::Status too_many = ShipStock(ShipOf("p", "o-1", "s-2", 4));
  EXPECT_THAT(too_many, StatusIs(Code::kFailedPrecondition, "NOTHING_TO_SHIP"));
  EXPECT_EQ(ErrorFact(too_many, "unshipped"), "3");
  EXPECT_EQ(StockOf("p"), after_ship);
  EXPECT_EQ(Stock("p").version(), version);

  v1::CancelCommitmentResponse cancelled;
  ASSERT_THAT(CancelCommitment(CancelOf("p", "o-1"), &cancelled), IsOk());
  EXPECT_EQ(cancelled.cancelled_quantity(), 3);
  EXPECT_THAT(LinesOf(cancelled.lines()), ElementsAre("east 1", "main 2"));
  EXPECT_EQ(cancelled.available(), 6);
  const std::string after_cancel =
      ExpectedStock({{"east", {.on_hand = 1, .available = 1}},
                     {"main", {.on_hand = 5, .available = 5}}});
  EXPECT_EQ(StockOf("p"), after_cancel);
  // Again: a no-op that gives back nothing more.
  cancelled.Clear();
  ASSERT_THAT(CancelCommitment(CancelOf("p", "o-1"), &cancelled), IsOk());
  EXPECT_EQ(cancelled.cancelled_quantity(), 0);
  EXPECT_EQ(cancelled.version(), version + 1);
  EXPECT_THAT(ShipStock(ShipOf("p", "o-1", "s-2", 1)),
              StatusIs(Code::kFailedPrecondition, "NOTHING_TO_SHIP"));
  EXPECT_EQ(StockOf("p"), after_cancel);

  v1::ReturnStockResponse returned;
  ASSERT_THAT(ReturnStock(ReturnOf("p", "o-1", "ret-1", "main", 2,
                                   v1::RETURN_CONDITION_RESELLABLE,
                                   v1::RETURN_REASON_CUSTOMER_CHANGED_MIND),
                          &returned),
              IsOk());
  EXPECT_EQ(returned.returned_quantity(), 2);
  EXPECT_EQ(Describe(FiguresOf(returned.warehouse())),
            Describe({.on_hand = 7, .available = 7}));
  ASSERT_THAT(ReturnStock(ReturnOf("p", "o-1", "ret-2", "east", 1,
                                   v1::RETURN_CONDITION_DAMAGED,
                                   v1::RETURN_REASON_DAMAGED_IN_TRANSIT)),
              IsOk());
  const std::string after_returns =
      ExpectedStock({{"east", {.on_hand = 1, .available = 1, .damaged = 1}},
                     {"main", {.on_hand = 7, .available = 7}}});
  EXPECT_EQ(StockOf("p"), after_returns);
  ASSERT_THAT(ReturnStock(ReturnOf("p", "o-1", "ret-3", "main", 1,
                                   v1::RETURN_CONDITION_DISPOSE)),
              IsOk());
  // Recorded, and no figure moves.
  EXPECT_EQ(StockOf("p"), after_returns);
  const v1::StockReturned disposed = Last<v1::StockReturned>("p");
  EXPECT_EQ(disposed.return_id(), "ret-3");
  EXPECT_EQ(disposed.condition(), v1::RETURN_CONDITION_DISPOSE);
  EXPECT_EQ(disposed.quantity(), 1);

  // All 4 shipped units are back: not one more, under any return id.
  const int64_t returned_version = Stock("p").version();
  grpc::Status twice = ReturnStock(ReturnOf("p", "o-1", "ret-4", "main", 1,
                                            v1::RETURN_CONDITION_RESELLABLE));
  EXPECT_THAT(twice,
              StatusIs(Code::kFailedPrecondition, "RETURN_EXCEEDS_SHIPPED"));
  EXPECT_EQ(ErrorFact(twice, "shipped"), "4");
  EXPECT_EQ(ErrorFact(twice, "returned"), "4");
  EXPECT_THAT(ReturnStock(ReturnOf("p", "o-2", "ret-5", "main", 1,
                                   v1::RETURN_CONDITION_RESELLABLE)),
              StatusIs(Code::kFailedPrecondition, "RETURN_EXCEEDS_SHIPPED"));
  EXPECT_EQ(StockOf("p"), after_returns);
  EXPECT_EQ(Stock("p").version(), returned_version);
}

// A transfer leaves the source's available stock at once and is incoming
// at the destination (not available there); received short, the missing
// units are recorded as lost in transit; it is received once.
TEST_F(MovementsTest, TransferReceivedShortRecordsTheLoss) {
  NewWarehouse("east");
  NewProduct("p", 10);
  ASSERT_THAT(ReserveStock(ReserveOf("p", "r-1", 3, "main")), IsOk());
  grpc::Status too_many = TransferStock(TransferOf("p", "t-1", "", "east", 8));
  EXPECT_THAT(too_many,
              StatusIs(Code::kFailedPrecondition, "INSUFFICIENT_STOCK"));
  EXPECT_EQ(too_many.error_message(),
            "insufficient stock for p at main: requested 8, available 7");

  v1::TransferStockResponse sent;
  ASSERT_THAT(TransferStock(TransferOf("p", "t-1", "", "east", 6), &sent),
              IsOk());
  EXPECT_EQ(Describe(FiguresOf(sent.from_warehouse())),
            Describe({.on_hand = 4, .reserved = 3, .available = 1}));
  EXPECT_EQ(Describe(FiguresOf(sent.to_warehouse())),
            Describe({.incoming = 6}));
  EXPECT_EQ(
      StockOf("p"),
      ExpectedStock({{"east", {.incoming = 6}},
                     {"main", {.on_hand = 4, .reserved = 3, .available = 1}}}));
  EXPECT_THAT(ReserveStock(ReserveOf("p", "r-2", 1, "east")),
              StatusIs(Code::kFailedPrecondition, "INSUFFICIENT_STOCK"));

  v1::ReceiveTransferResponse arrived;
  ASSERT_THAT(ReceiveTransfer(ArrivalOf("p", "t-1", 5), &arrived), IsOk());
  EXPECT_EQ(arrived.quantity_received(), 5);
  EXPECT_EQ(arrived.quantity_lost(), 1);
  EXPECT_EQ(Describe(FiguresOf(arrived.to_warehouse())),
            Describe({.on_hand = 5, .available = 5}));
  const v1::TransferReceived received = Last<v1::TransferReceived>("p");
  EXPECT_EQ(received.from_warehouse_id(), "main");
  EXPECT_EQ(received.to_warehouse_id(), "east");
  EXPECT_EQ(received.quantity_dispatched(), 6);
  EXPECT_EQ(received.quantity_received(), 5);
  EXPECT_EQ(received.quantity_lost(), 1);
  // The lost unit is in no figure: 10 units came in, 9 are on hand.
  const std::string after =
      ExpectedStock({{"east", {.on_hand = 5, .available = 5}},
                     {"main", {.on_hand = 4, .reserved = 3, .available = 1}}});
  EXPECT_EQ(StockOf("p"), after);

  const int64_t version = Stock("p").version();
  EXPECT_THAT(ReceiveTransfer(ArrivalOf("p", "t-1", 1)),
              StatusIs(Code::kFailedPrecondition, "TRANSFER_ALREADY_RECEIVED"));
  EXPECT_THAT(ReceiveTransfer(ArrivalOf("p", "t-9", 1)),
              StatusIs(Code::kNotFound, "TRANSFER_NOT_FOUND"));
  ASSERT_THAT(TransferStock(TransferOf("p", "t-2", "east", "main", 2)), IsOk());
  EXPECT_THAT(ReceiveTransfer(ArrivalOf("p", "t-2", 3)),
              StatusIs(Code::kFailedPrecondition, "TRANSFER_OVER_RECEIVED"));
  EXPECT_EQ(Stock("p").version(), version + 1);
}

// A count below what is reserved and committed is recorded as counted:
// available floors at 0, shortfall shows the missing promised units, and
// new reservations are refused until stock returns.
TEST_F(MovementsTest, CountBelowPromisedShowsShortfall) {
  NewProduct("p", 10);
  ASSERT_THAT(ReserveStock(ReserveOf("p", "r-1", 4)), IsOk());
  ASSERT_THAT(ReserveStock(ReserveOf("p", "r-2", 3)), IsOk());
  ASSERT_THAT(CommitReservation(CommitOf("p", "r-2", "o-1")), IsOk());
  EXPECT_EQ(
      StockOf("p"),
      ExpectedStock(
          {{"main",
            {.on_hand = 10, .reserved = 4, .committed = 3, .available = 3}}}));

  v1::AdjustStockResponse adjusted;
  ASSERT_THAT(AdjustStock(CountOf("p", "a-1", "", 5), &adjusted), IsOk());
  EXPECT_EQ(adjusted.delta(), -5);
  EXPECT_EQ(adjusted.previous_quantity(), 10);
  EXPECT_EQ(adjusted.new_quantity(), 5);
  const std::string short_by_two = ExpectedStock(
      {{"main",
        {.on_hand = 5, .reserved = 4, .committed = 3, .shortfall = 2}}});
  EXPECT_EQ(StockOf("p"), short_by_two);
  const v1::StockAdjusted counted = Last<v1::StockAdjusted>("p");
  EXPECT_EQ(counted.reason(), v1::ADJUSTMENT_REASON_PHYSICAL_COUNT);
  EXPECT_TRUE(counted.counted());
  EXPECT_EQ(counted.delta(), -5);

  grpc::Status refused = ReserveStock(ReserveOf("p", "r-3", 1));
  EXPECT_THAT(refused,
              StatusIs(Code::kFailedPrecondition, "INSUFFICIENT_STOCK"));
  EXPECT_EQ(ErrorFact(refused, "available"), "0");
  EXPECT_EQ(StockOf("p"), short_by_two);

  adjusted.Clear();
  ASSERT_THAT(AdjustStock(DeltaOf("p", "a-2", "main", 3), &adjusted), IsOk());
  EXPECT_EQ(adjusted.delta(), 3);
  EXPECT_EQ(adjusted.previous_quantity(), 5);
  EXPECT_EQ(adjusted.new_quantity(), 8);
  EXPECT_EQ(
      StockOf("p"),
      ExpectedStock(
          {{"main",
            {.on_hand = 8, .reserved = 4, .committed = 3, .available = 1}}}));
  ASSERT_THAT(ReserveStock(ReserveOf("p", "r-3", 1)), IsOk());
  EXPECT_THAT(AdjustStock(DeltaOf("p", "a-3", "main", -9)),
              StatusIs(Code::kFailedPrecondition, "ADJUSTMENT_BELOW_ZERO"));

  // Quarantined units are counted in their own bucket, then written off.
  v1::AdjustStockRequest found =
      DeltaOf("p", "a-4", "main", 2, v1::ADJUSTMENT_REASON_DAMAGE);
  found.set_bucket(v1::STOCK_BUCKET_DAMAGED);
  ASSERT_THAT(AdjustStock(found), IsOk());
  EXPECT_EQ(
      StockOf("p"),
      ExpectedStock(
          {{"main",
            {.on_hand = 8, .reserved = 5, .committed = 3, .damaged = 2}}}));
  v1::AdjustStockRequest written_off =
      CountOf("p", "a-5", "main", 0, v1::ADJUSTMENT_REASON_EXPIRY);
  written_off.set_bucket(v1::STOCK_BUCKET_DAMAGED);
  adjusted.Clear();
  ASSERT_THAT(AdjustStock(written_off, &adjusted), IsOk());
  EXPECT_EQ(adjusted.previous_quantity(), 2);
  EXPECT_EQ(adjusted.new_quantity(), 0);
  EXPECT_EQ(
      StockOf("p"),
      ExpectedStock({{"main", {.on_hand = 8, .reserved = 5, .committed = 3}}}));
}

}  // namespace
}  // namespace inventory
