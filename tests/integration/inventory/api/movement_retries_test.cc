#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/movement_calls.h"

// Retries and stale versions of the stock movements, through real gRPC on
// a real PostgreSQL: a movement's id makes it happen once, whichever
// replica a retry reaches; a retry that says something else is refused
// naming the field; a stale expected_version writes nothing.
namespace inventory {
namespace {

using ::shop::testing::InventoryHarness;
using ::shop::testing::IsOk;
using ::shop::testing::MovementTest;
using ::shop::testing::StatusIs;
using ::shop::testing::movements::ArrivalOf;
using ::shop::testing::movements::CancelOf;
using ::shop::testing::movements::CommitOf;
using ::shop::testing::movements::CountOf;
using ::shop::testing::movements::DeltaOf;
using ::shop::testing::movements::ErrorFact;
using ::shop::testing::movements::ReceiveOf;
using ::shop::testing::movements::ReleaseOf;
using ::shop::testing::movements::ReserveOf;
using ::shop::testing::movements::ReturnOf;
using ::shop::testing::movements::ShipOf;
using ::shop::testing::movements::TransferOf;
using ::testing::HasSubstr;
using ::testing::SizeIs;

using Code = absl::StatusCode;

constexpr v1::ReturnCondition kResellable = v1::RETURN_CONDITION_RESELLABLE;

class MovementRetriesTest : public MovementTest {
 protected:
  // Sends `request`, then again to this server and to a replica that has
  // never seen the product: both repeats answer what the first call did,
  // and nothing is appended (so they have no position of their own).
  template <typename Request, typename Response>
  void ExpectRetryAnswersTheFirst(const std::string& what,
                                  Method<Request, Response> method,
                                  const Request& request) {
    SCOPED_TRACE(what);
    Response first;
    ASSERT_THAT(Call(method, request, &first), IsOk());
    EXPECT_FALSE(first.position().empty());
    first.clear_position();
    const std::string stock = StockOf("p");
    const size_t events = Events("p").size();
    for (InventoryHarness* server : {&harness_, &replica_}) {
      Response again;
      ASSERT_THAT(Call(*server, method, request, &again), IsOk());
      EXPECT_EQ(again.DebugString(), first.DebugString());
    }
    EXPECT_EQ(StockOf("p"), stock);
    EXPECT_THAT(Events("p"), SizeIs(events));
  }

  // A repeat after the stock has moved on: accepted, and nothing appended.
  template <typename Request, typename Response>
  void ExpectRetryWritesNothing(const std::string& what,
                                Method<Request, Response> method,
                                const Request& request) {
    SCOPED_TRACE(what);
    const size_t events = Events("p").size();
    for (InventoryHarness* server : {&harness_, &replica_}) {
      Response again;
      EXPECT_THAT(Call(*server, method, request, &again), IsOk());
    }
    EXPECT_THAT(Events("p"), SizeIs(events));
  }

  // A repeat of `id` with other content: FAILED_PRECONDITION with `reason`,
  // naming `field`, and nothing appended.
  template <typename Request, typename Response>
  void ExpectMismatch(Method<Request, Response> method, const Request& request,
                      const std::string& reason, const std::string& field) {
    SCOPED_TRACE(reason + " " + field);
    const size_t events = Events("p").size();
    Response response;
    grpc::Status status = Call(method, request, &response);
    EXPECT_THAT(status, StatusIs(Code::kFailedPrecondition, reason));
    EXPECT_EQ(ErrorFact(status, "field"), field);
    EXPECT_THAT(status.error_message(), HasSubstr(field));
    EXPECT_THAT(Events("p"), SizeIs(events));
  }

  // `request` at a stale expected_version is ABORTED and writes nothing;
  // at the current one it goes through.
  template <typename Request, typename Response>
  void ExpectOnlyCurrentVersionWrites(const std::string& what,
                                      Method<Request, Response> method,
                                      Request request) {
    SCOPED_TRACE(what);
    const int64_t version = Stock("p").version();
    const std::string stock = StockOf("p");
    request.set_expected_version(version - 1);
    Response response;
    grpc::Status stale = Call(method, request, &response);
    EXPECT_THAT(stale, StatusIs(Code::kAborted, "WRONG_EXPECTED_VERSION"));
    EXPECT_EQ(Stock("p").version(), version);
    EXPECT_EQ(StockOf("p"), stock);
    EXPECT_THAT(Events("p"), SizeIs(version));

    request.set_expected_version(version);
    ASSERT_THAT(Call(method, request, &response), IsOk());
    EXPECT_EQ(response.version(), version + 1);
  }

  InventoryHarness replica_{schema_.name()};
};

// Every movement retried with its id and the same content answers the
// first call's answer and appends nothing, here and on another replica;
// including the retries of movements that used up what they moved.
TEST_F(MovementRetriesTest, RetryAnswersTheFirstAndAppendsNothing) {
  NewWarehouse("east");
  NewProduct("p");
  ExpectRetryAnswersTheFirst("receive", &Stub::ReceiveStock,
                             ReceiveOf("p", "main", 10, "rc-1"));
  ASSERT_THAT(ReceiveStock(ReceiveOf("p", "east", 5, "rc-2")), IsOk());
  ExpectRetryAnswersTheFirst("reserve", &Stub::ReserveStock,
                             ReserveOf("p", "r-1", 4));
  ExpectRetryAnswersTheFirst("partial release", &Stub::ReleaseStock,
                             ReleaseOf("p", "r-1", 1, "rel-1"));
  ExpectRetryAnswersTheFirst("commit", &Stub::CommitReservation,
                             CommitOf("p", "r-1", "o-1"));
  // Ships all the order holds, then returns all it shipped.
  ExpectRetryAnswersTheFirst("ship", &Stub::ShipStock,
                             ShipOf("p", "o-1", "s-1", 3));
  ExpectRetryAnswersTheFirst(
      "return", &Stub::ReturnStock,
      ReturnOf("p", "o-1", "ret-1", "main", 3, kResellable));
  ExpectRetryAnswersTheFirst("transfer", &Stub::TransferStock,
                             TransferOf("p", "t-1", "east", "main", 2));
  ExpectRetryAnswersTheFirst("count", &Stub::AdjustStock,
                             CountOf("p", "a-1", "east", 1));
  // Leaves east with nothing: the same delta again would go below zero.
  ExpectRetryAnswersTheFirst("delta", &Stub::AdjustStock,
                             DeltaOf("p", "a-2", "east", -1));
  EXPECT_EQ(StockOf("p"),
            ::shop::testing::movements::ExpectedStock(
                {{"east", {.on_hand = 0}},
                 {"main", {.on_hand = 10, .available = 10, .incoming = 2}}}));

  ASSERT_THAT(ReceiveTransfer(ArrivalOf("p", "t-1", 2)), IsOk());
  // Once received, the transfer's retry finds east with nothing to send.
  ExpectRetryWritesNothing("transfer after it arrived", &Stub::TransferStock,
                           TransferOf("p", "t-1", "east", "main", 2));
  ExpectRetryWritesNothing("receipt after stock moved", &Stub::ReceiveStock,
                           ReceiveOf("p", "main", 10, "rc-1"));
  EXPECT_EQ(StockOf("p"),
            ::shop::testing::movements::ExpectedStock(
                {{"east", {}}, {"main", {.on_hand = 12, .available = 12}}}));
}

// Cancelling an order's commitment again is a no-op (it has no id of its
// own: the order is the id): it answers 0 units and appends nothing.
TEST_F(MovementRetriesTest, CancelAgainGivesBackNothingMore) {
  NewProduct("p", 5);
  ASSERT_THAT(ReserveStock(ReserveOf("p", "r-1", 3)), IsOk());
  ASSERT_THAT(CommitReservation(CommitOf("p", "r-1", "o-1")), IsOk());
  v1::CancelCommitmentResponse first;
  ASSERT_THAT(CancelCommitment(CancelOf("p", "o-1"), &first), IsOk());
  EXPECT_EQ(first.cancelled_quantity(), 3);
  const size_t events = Events("p").size();
  for (InventoryHarness* server : {&harness_, &replica_}) {
    v1::CancelCommitmentResponse again;
    ASSERT_THAT(
        Call(*server, &Stub::CancelCommitment, CancelOf("p", "o-1"), &again),
        IsOk());
    EXPECT_EQ(again.cancelled_quantity(), 0);
    EXPECT_EQ(again.available(), 5);
    EXPECT_EQ(again.version(), first.version());
  }
  EXPECT_THAT(Events("p"), SizeIs(events));
}

// The same id with other content is FAILED_PRECONDITION naming the first
// field that differs, for every movement, and appends nothing.
TEST_F(MovementRetriesTest, SameIdOtherContentNamesTheMismatch) {
  NewWarehouse("east");
  NewProduct("p");
  ASSERT_THAT(ReceiveStock(ReceiveOf("p", "main", 10, "rc-1")), IsOk());
  ASSERT_THAT(ReserveStock(ReserveOf("p", "r-1", 6)), IsOk());
  ASSERT_THAT(ReleaseStock(ReleaseOf("p", "r-1", 1, "rel-1")), IsOk());
  ASSERT_THAT(CommitReservation(CommitOf("p", "r-1", "o-1")), IsOk());
  ASSERT_THAT(ShipStock(ShipOf("p", "o-1", "s-1", 2)), IsOk());
  ASSERT_THAT(
      ReturnStock(ReturnOf("p", "o-1", "ret-1", "main", 1, kResellable)),
      IsOk());
  ASSERT_THAT(TransferStock(TransferOf("p", "t-1", "main", "east", 1)), IsOk());
  ASSERT_THAT(AdjustStock(CountOf("p", "a-1", "main", 9)), IsOk());
  ASSERT_THAT(ReserveStock(ReserveOf("p", "r-2", 1)), IsOk());
  const std::string stock = StockOf("p");

  ExpectMismatch(&Stub::ReceiveStock, ReceiveOf("p", "main", 11, "rc-1"),
                 "RECEIPT_MISMATCH", "quantity");
  ExpectMismatch(&Stub::ReceiveStock, ReceiveOf("p", "east", 10, "rc-1"),
                 "RECEIPT_MISMATCH", "warehouse_id");
  v1::ReceiveStockRequest supplier = ReceiveOf("p", "main", 10, "rc-1");
  supplier.set_supplier("Acme");
  ExpectMismatch(&Stub::ReceiveStock, supplier, "RECEIPT_MISMATCH", "supplier");
  ExpectMismatch(&Stub::ReleaseStock, ReleaseOf("p", "r-1", 2, "rel-1"),
                 "RELEASE_MISMATCH", "quantity");
  ExpectMismatch(&Stub::ReleaseStock, ReleaseOf("p", "r-2", 1, "rel-1"),
                 "RELEASE_MISMATCH", "reservation_id");
  ExpectMismatch(&Stub::CommitReservation, CommitOf("p", "r-1", "o-2"),
                 "RESERVATION_MISMATCH", "order_id");
  ExpectMismatch(&Stub::ShipStock, ShipOf("p", "o-1", "s-1", 3),
                 "SHIPMENT_MISMATCH", "quantity");
  ExpectMismatch(
      &Stub::ReturnStock,
      ReturnOf("p", "o-1", "ret-1", "main", 1, v1::RETURN_CONDITION_DAMAGED),
      "RETURN_MISMATCH", "condition");
  ExpectMismatch(&Stub::ReturnStock,
                 ReturnOf("p", "o-1", "ret-1", "east", 1, kResellable),
                 "RETURN_MISMATCH", "warehouse_id");
  ExpectMismatch(&Stub::TransferStock,
                 TransferOf("p", "t-1", "main", "east", 2), "TRANSFER_MISMATCH",
                 "quantity");
  ExpectMismatch(&Stub::AdjustStock, CountOf("p", "a-1", "main", 7),
                 "ADJUSTMENT_MISMATCH", "counted_quantity");
  ExpectMismatch(&Stub::AdjustStock, DeltaOf("p", "a-1", "main", -1),
                 "ADJUSTMENT_MISMATCH", "delta");

  // A live reservation asked again for more is refused by what it holds.
  v1::ReserveStockResponse response;
  grpc::Status more = ReserveStock(ReserveOf("p", "r-2", 2), &response);
  EXPECT_THAT(more,
              StatusIs(Code::kFailedPrecondition, "RESERVATION_MISMATCH"));
  EXPECT_EQ(ErrorFact(more, "held"), "1");
  EXPECT_EQ(StockOf("p"), stock);
}

// Every movement at a stale expected_version is ABORTED and writes
// nothing; at the stream's version it is applied.
TEST_F(MovementRetriesTest, StaleExpectedVersionIsAbortedAndWritesNothing) {
  NewWarehouse("east");
  NewProduct("p");
  ExpectOnlyCurrentVersionWrites("receive", &Stub::ReceiveStock,
                                 ReceiveOf("p", "main", 10, "rc-1"));
  ExpectOnlyCurrentVersionWrites("reserve", &Stub::ReserveStock,
                                 ReserveOf("p", "r-1", 4));
  ExpectOnlyCurrentVersionWrites("release", &Stub::ReleaseStock,
                                 ReleaseOf("p", "r-1", 1, "rel-1"));
  ExpectOnlyCurrentVersionWrites("commit", &Stub::CommitReservation,
                                 CommitOf("p", "r-1", "o-1"));
  ExpectOnlyCurrentVersionWrites("ship", &Stub::ShipStock,
                                 ShipOf("p", "o-1", "s-1", 2));
  ExpectOnlyCurrentVersionWrites("cancel", &Stub::CancelCommitment,
                                 CancelOf("p", "o-1"));
  ExpectOnlyCurrentVersionWrites(
      "return", &Stub::ReturnStock,
      ReturnOf("p", "o-1", "ret-1", "main", 1, kResellable));
  ExpectOnlyCurrentVersionWrites("transfer", &Stub::TransferStock,
                                 TransferOf("p", "t-1", "main", "east", 3));
  ExpectOnlyCurrentVersionWrites("arrival", &Stub::ReceiveTransfer,
                                 ArrivalOf("p", "t-1", 3));
  ExpectOnlyCurrentVersionWrites("adjust", &Stub::AdjustStock,
                                 CountOf("p", "a-1", "east", 2));
  EXPECT_EQ(StockOf("p"), ::shop::testing::movements::ExpectedStock(
                              {{"east", {.on_hand = 2, .available = 2}},
                               {"main", {.on_hand = 6, .available = 6}}}));
}

}  // namespace
}  // namespace inventory
