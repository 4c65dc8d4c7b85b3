#include <chrono>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/movement_calls.h"

// ListStock through a real gRPC channel: the read model stock_levels by
// warehouse and availability, page by page, and its refusals.
namespace inventory {
namespace {

using ::shop::testing::IsOk;
using ::shop::testing::LastCommittedPosition;
using ::shop::testing::MovementTest;
using ::shop::testing::StatusIs;
using ::shop::testing::movements::ReceiveOf;
using ::shop::testing::movements::ReserveOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

class ListStockTest : public MovementTest {
 protected:
  // Waits until the read model has applied everything written so far.
  void CaughtUp() {
    ASSERT_TRUE(harness_.reports().projection().AwaitApplied(
        LastCommittedPosition(schema_.name()), absl::Seconds(20)));
  }

  grpc::Status List(const v1::ListStockRequest& request,
                    v1::ListStockResponse* response) {
    return Call(&Stub::ListStock, request, response);
  }

  // "product@warehouse available/on_hand" of every row, through all pages.
  std::vector<std::string> ListAll(v1::ListStockRequest request) {
    std::vector<std::string> rows;
    do {
      v1::ListStockResponse page;
      EXPECT_THAT(List(request, &page), IsOk());
      for (const v1::StockLevel& level : page.levels()) {
        rows.push_back(absl::StrCat(
            level.product_id(), "@", level.stock().warehouse_id(), " ",
            level.stock().available(), "/", level.stock().on_hand()));
      }
      request.set_page_token(page.next_page_token());
    } while (!request.page_token().empty());
    return rows;
  }
};

TEST_F(ListStockTest, ListsByWarehouseAndAvailabilityPageByPage) {
  NewWarehouse("east");
  for (const char* id : {"a", "b", "c", "d"}) NewProduct(id, 10);
  ASSERT_THAT(ReceiveStock(ReceiveOf("a", "east", 2)), IsOk());
  ASSERT_THAT(ReceiveStock(ReceiveOf("b", "east", 9)), IsOk());
  ASSERT_THAT(ReceiveStock(ReceiveOf("c", "east", 4)), IsOk());
  ASSERT_THAT(ReserveStock(ReserveOf("c", "r-1", 3, "east")), IsOk());
  CaughtUp();

  v1::ListStockRequest all;
  all.set_page_size(2);
  EXPECT_THAT(
      ListAll(all),
      ElementsAre("a@east 2/2", "a@main 10/10", "b@east 9/9", "b@main 10/10",
                  "c@east 1/4", "c@main 10/10", "d@main 10/10"));
  // The low-stock report of east.
  v1::ListStockRequest low;
  low.set_warehouse_id("east");
  low.set_max_available(2);
  low.set_page_size(1);
  EXPECT_THAT(ListAll(low), ElementsAre("a@east 2/2", "c@east 1/4"));

  v1::ListStockResponse page;
  ASSERT_THAT(List(low, &page), IsOk());
  EXPECT_EQ(page.levels(0).name(), "Sneakers");
  EXPECT_EQ(page.levels(0).version(), 2);
  EXPECT_FALSE(page.position().empty());
}

// A write's position as min_position, on another connection right after
// the write: the answer reflects it.
TEST_F(ListStockTest, MinPositionReadsYourWrites) {
  NewProduct("a", 20);
  for (int i = 0; i < 20; ++i) {
    v1::ReserveStockResponse reserved;
    ASSERT_THAT(
        ReserveStock(ReserveOf("a", absl::StrCat("r-", i), 1), &reserved),
        IsOk());
    ASSERT_FALSE(reserved.position().empty());
    auto channel = grpc::CreateChannel(harness_.address(),
                                       grpc::InsecureChannelCredentials());
    auto other = v1::InventoryService::NewStub(channel);
    v1::ListStockRequest request;
    request.set_min_position(reserved.position());
    v1::ListStockResponse page;
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(10));
    ASSERT_THAT(other->ListStock(&context, request, &page), IsOk());
    ASSERT_EQ(page.levels_size(), 1);
    EXPECT_EQ(page.levels(0).stock().reserved(), i + 1) << i;
  }
}

// A model that cannot reach the position in time says how far behind it
// is, and a repeat that wrote nothing has no position to wait for.
TEST_F(ListStockTest, MinPositionNotReachedInTimeIsUnavailable) {
  NewProduct("a", 10);
  CaughtUp();
  harness_.reports().Stop();
  v1::ReserveStockResponse reserved;
  ASSERT_THAT(ReserveStock(ReserveOf("a", "r-1", 1), &reserved), IsOk());
  v1::ReserveStockResponse again;
  ASSERT_THAT(ReserveStock(ReserveOf("a", "r-1", 1), &again), IsOk());
  EXPECT_TRUE(again.position().empty());

  v1::ListStockRequest request;
  request.set_min_position(reserved.position());
  v1::ListStockResponse page;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::milliseconds(300));
  const grpc::Status status =
      harness_.stub().ListStock(&context, request, &page);
  EXPECT_THAT(status,
              StatusIs(absl::StatusCode::kUnavailable, "PROJECTION_BEHIND"));
  EXPECT_THAT(status.error_message(), HasSubstr("1 events behind"));
}

TEST_F(ListStockTest, RefusesBadInputNamingTheField) {
  struct Case {
    v1::ListStockRequest request;
    std::string field;
  };
  std::vector<Case> cases(5);
  cases[0].request.set_warehouse_id("East Side");
  cases[0].field = "warehouse_id";
  cases[1].request.set_max_available(-1);
  cases[1].field = "max_available";
  cases[2].request.set_page_size(1001);
  cases[2].field = "page_size";
  cases[3].request.set_page_token("not-a-token");
  cases[3].field = "page_token";
  cases[4].request.set_min_position("nowhere");
  cases[4].field = "min_position";
  for (const Case& c : cases) {
    v1::ListStockResponse response;
    const grpc::Status status = List(c.request, &response);
    EXPECT_THAT(status,
                StatusIs(absl::StatusCode::kInvalidArgument, "INVALID_FIELD"))
        << c.field;
    EXPECT_THAT(status.error_message(), HasSubstr(c.field));
  }
}

}  // namespace
}  // namespace inventory
