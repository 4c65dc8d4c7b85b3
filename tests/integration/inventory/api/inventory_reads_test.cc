#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/util/proto_time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/inventory/api/inventory_service.h"
#include "tests/support/inventory_harness.h"
#include "tests/support/status_matchers.h"

namespace inventory {
namespace {

using ::shop::testing::InventoryHarness;
using ::shop::testing::IsOk;
using ::shop::testing::StatusIs;
using ::shop::testing::TestSchema;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

// The forensic reads through real gRPC on a real PostgreSQL.
class InventoryReadsTest : public ::testing::Test {
 protected:
  // A context whose call carries `correlation_id` when given.
  static void Correlate(grpc::ClientContext* context,
                        const std::string& correlation_id) {
    if (!correlation_id.empty()) {
      context->AddMetadata("x-correlation-id", correlation_id);
    }
  }

  void AddProduct(const std::string& id, int64_t quantity,
                  const std::string& correlation_id = "") {
    v1::AddProductRequest request;
    request.set_product_id(id);
    request.set_name("Sneakers");
    request.set_price_cents(4999);
    request.set_initial_quantity(quantity);
    v1::AddProductResponse response;
    grpc::ClientContext context;
    Correlate(&context, correlation_id);
    ASSERT_THAT(harness_.stub().AddProduct(&context, request, &response),
                IsOk());
  }

  void AddWarehouse(const std::string& id) {
    v1::AddWarehouseRequest request;
    request.set_warehouse_id(id);
    request.set_name(id);
    v1::AddWarehouseResponse response;
    grpc::ClientContext context;
    ASSERT_THAT(harness_.stub().AddWarehouse(&context, request, &response),
                IsOk());
  }

  void Receive(const std::string& product, int64_t quantity,
               const std::string& warehouse = "",
               const std::string& correlation_id = "") {
    v1::ReceiveStockRequest request;
    request.set_product_id(product);
    request.set_quantity(quantity);
    request.set_warehouse_id(warehouse);
    v1::ReceiveStockResponse response;
    grpc::ClientContext context;
    Correlate(&context, correlation_id);
    ASSERT_THAT(harness_.stub().ReceiveStock(&context, request, &response),
                IsOk());
  }

  void Reserve(const std::string& product, const std::string& id,
               int64_t quantity, const std::string& warehouse = "",
               const std::string& correlation_id = "") {
    v1::ReserveStockRequest request;
    request.set_product_id(product);
    request.set_reservation_id(id);
    request.set_quantity(quantity);
    request.set_warehouse_id(warehouse);
    v1::ReserveStockResponse response;
    grpc::ClientContext context;
    Correlate(&context, correlation_id);
    ASSERT_THAT(harness_.stub().ReserveStock(&context, request, &response),
                IsOk());
  }

  v1::GetStockResponse Stock(const std::string& product) {
    v1::GetStockRequest request;
    request.set_product_id(product);
    v1::GetStockResponse response;
    grpc::ClientContext context;
    EXPECT_THAT(harness_.stub().GetStock(&context, request, &response), IsOk());
    return response;
  }

  grpc::Status StockAsOf(const v1::GetStockAsOfRequest& request,
                         v1::GetStockAsOfResponse* response) {
    grpc::ClientContext context;
    return harness_.stub().GetStockAsOf(&context, request, response);
  }

  grpc::Status Events(const v1::ListProductEventsRequest& request,
                      v1::ListProductEventsResponse* response) {
    grpc::ClientContext context;
    return harness_.stub().ListProductEvents(&context, request, response);
  }

  grpc::Status ByCorrelation(const v1::ListEventsByCorrelationRequest& request,
                             v1::ListEventsByCorrelationResponse* response) {
    grpc::ClientContext context;
    return harness_.stub().ListEventsByCorrelation(&context, request, response);
  }

  static std::vector<int64_t> Versions(
      const v1::ListProductEventsResponse& response) {
    std::vector<int64_t> versions;
    for (const v1::RecordedEvent& event : response.events()) {
      versions.push_back(event.version());
    }
    return versions;
  }

  TestSchema schema_{"inventory_reads"};
  InventoryHarness harness_{schema_.name()};
};

// GetStockAsOf answers what GetStock answered at each recorded instant,
// every figure and warehouse included, with that moment's version.
TEST_F(InventoryReadsTest, StockAsOfEqualsWhatGetStockSaidThen) {
  AddWarehouse("east");
  struct Seen {
    absl::Time at;
    v1::GetStockResponse stock;
  };
  std::vector<Seen> seen;
  auto record = [&] { seen.push_back({absl::Now(), Stock("p")}); };
  AddProduct("p", 10);
  record();
  Receive("p", 5, "east");
  record();
  Reserve("p", "r-1", 12);
  record();
  Receive("p", 3);
  record();

  for (const Seen& then : seen) {
    v1::GetStockAsOfRequest request;
    request.set_product_id("p");
    *request.mutable_as_of() = shop::ToProto(then.at);
    v1::GetStockAsOfResponse response;
    ASSERT_THAT(StockAsOf(request, &response), IsOk());
    v1::GetStockResponse as_stock;
    // The same fields under the same numbers, apart from as_of.
    v1::GetStockAsOfResponse without_as_of = response;
    without_as_of.clear_as_of();
    ASSERT_TRUE(as_stock.ParseFromString(without_as_of.SerializeAsString()));
    as_stock.clear_warehouses();
    v1::GetStockResponse expected = then.stock;
    expected.clear_warehouses();
    EXPECT_EQ(as_stock.DebugString(), expected.DebugString());
    ASSERT_EQ(response.warehouses_size(), then.stock.warehouses_size());
    for (int i = 0; i < response.warehouses_size(); ++i) {
      EXPECT_EQ(response.warehouses(i).DebugString(),
                then.stock.warehouses(i).DebugString());
    }
    EXPECT_EQ(shop::FromProto(response.as_of()), then.at);
  }
}

// Before the product's first event, and for an unknown product, GetStockAsOf
// is NOT_FOUND.
TEST_F(InventoryReadsTest, StockAsOfBeforeTheProductIsNotFound) {
  const absl::Time before = absl::Now() - absl::Seconds(1);
  AddProduct("p", 1);
  v1::GetStockAsOfRequest request;
  request.set_product_id("p");
  *request.mutable_as_of() = shop::ToProto(before);
  v1::GetStockAsOfResponse response;
  EXPECT_THAT(StockAsOf(request, &response),
              StatusIs(absl::StatusCode::kNotFound, "PRODUCT_NOT_FOUND"));
  request.set_product_id("none");
  *request.mutable_as_of() = shop::ToProto(absl::Now());
  EXPECT_THAT(StockAsOf(request, &response),
              StatusIs(absl::StatusCode::kNotFound, "PRODUCT_NOT_FOUND"));
}

// GetStockAsOf refuses a missing or far-future as_of, naming the field.
TEST_F(InventoryReadsTest, StockAsOfValidatesAsOf) {
  AddProduct("p", 1);
  v1::GetStockAsOfRequest request;
  request.set_product_id("p");
  v1::GetStockAsOfResponse response;
  grpc::Status missing = StockAsOf(request, &response);
  EXPECT_THAT(missing,
              StatusIs(absl::StatusCode::kInvalidArgument, "INVALID_FIELD"));
  EXPECT_THAT(missing.error_message(), HasSubstr("as_of"));

  *request.mutable_as_of() = shop::ToProto(absl::Now() + absl::Hours(1));
  grpc::Status future = StockAsOf(request, &response);
  EXPECT_THAT(future,
              StatusIs(absl::StatusCode::kInvalidArgument, "INVALID_FIELD"));
  EXPECT_THAT(future.error_message(), HasSubstr("in the future"));

  request.mutable_as_of()->set_nanos(-1);
  EXPECT_THAT(StockAsOf(request, &response),
              StatusIs(absl::StatusCode::kInvalidArgument, "INVALID_FIELD"));
}

// ListProductEvents filters by type, warehouse and time, in either
// direction, and pages in the direction it reads.
TEST_F(InventoryReadsTest, ListProductEventsFilters) {
  AddWarehouse("east");
  AddProduct("p", 10);      // 1, main
  Receive("p", 5, "east");  // 2, east
  const absl::Time middle = absl::Now();
  Reserve("p", "r-1", 2, "east");  // 3, east (lines)
  Receive("p", 1);                 // 4, main
  Reserve("p", "r-2", 1, "main");  // 5, main

  v1::ListProductEventsRequest request;
  request.set_product_id("p");
  v1::ListProductEventsResponse response;
  request.add_types("stock.received");
  ASSERT_THAT(Events(request, &response), IsOk());
  EXPECT_THAT(Versions(response), ElementsAre(2, 4));

  request.clear_types();
  request.set_warehouse_id("east");
  response.Clear();
  ASSERT_THAT(Events(request, &response), IsOk());
  EXPECT_THAT(Versions(response), ElementsAre(2, 3));

  request.set_warehouse_id("main");
  response.Clear();
  ASSERT_THAT(Events(request, &response), IsOk());
  EXPECT_THAT(Versions(response), ElementsAre(1, 4, 5));

  request.clear_warehouse_id();
  *request.mutable_from_time() = shop::ToProto(middle);
  response.Clear();
  ASSERT_THAT(Events(request, &response), IsOk());
  EXPECT_THAT(Versions(response), ElementsAre(3, 4, 5));

  request.clear_from_time();
  *request.mutable_to_time() = shop::ToProto(middle);
  response.Clear();
  ASSERT_THAT(Events(request, &response), IsOk());
  EXPECT_THAT(Versions(response), ElementsAre(1, 2));

  // Newest first, two at a time, following next_from_version.
  request.clear_to_time();
  request.set_direction(v1::READ_DIRECTION_BACKWARD);
  request.set_max_count(2);
  std::vector<int64_t> pages;
  for (int64_t from = 0, turns = 0; turns < 5; ++turns) {
    request.set_from_version(from);
    response.Clear();
    ASSERT_THAT(Events(request, &response), IsOk());
    for (int64_t v : Versions(response)) pages.push_back(v);
    from = response.next_from_version();
    if (from == 0) break;
  }
  EXPECT_THAT(pages, ElementsAre(5, 4, 3, 2, 1));
  EXPECT_EQ(response.events(0).stream_id(), "product-p");
}

// ListProductEvents refuses unknown types and directions and a reversed
// range, naming the field; an unknown product is NOT_FOUND.
TEST_F(InventoryReadsTest, ListProductEventsValidates) {
  AddProduct("p", 1);
  v1::ListProductEventsRequest request;
  request.set_product_id("p");
  v1::ListProductEventsResponse response;

  request.add_types("stock.teleported");
  grpc::Status type = Events(request, &response);
  EXPECT_THAT(type,
              StatusIs(absl::StatusCode::kInvalidArgument, "INVALID_FIELD"));
  EXPECT_THAT(type.error_message(), HasSubstr("types"));

  request.clear_types();
  request.set_direction(static_cast<v1::ReadDirection>(7));
  grpc::Status direction = Events(request, &response);
  EXPECT_THAT(direction,
              StatusIs(absl::StatusCode::kInvalidArgument, "INVALID_FIELD"));
  EXPECT_THAT(direction.error_message(), HasSubstr("direction"));

  request.set_direction(v1::READ_DIRECTION_FORWARD);
  *request.mutable_from_time() = shop::ToProto(absl::Now());
  *request.mutable_to_time() = shop::ToProto(absl::Now() - absl::Hours(1));
  grpc::Status range = Events(request, &response);
  EXPECT_THAT(range,
              StatusIs(absl::StatusCode::kInvalidArgument, "INVALID_FIELD"));
  EXPECT_THAT(range.error_message(), HasSubstr("to_time"));

  request.clear_from_time();
  request.clear_to_time();
  request.set_warehouse_id("East Wing");
  EXPECT_THAT(Events(request, &response),
              StatusIs(absl::StatusCode::kInvalidArgument, "INVALID_FIELD"));

  request.clear_warehouse_id();
  request.set_product_id("none");
  EXPECT_THAT(Events(request, &response),
              StatusIs(absl::StatusCode::kNotFound, "PRODUCT_NOT_FOUND"));
}

// ListEventsByCorrelation lists the events of the calls that carried the
// id, across products, in commit order, page by page.
TEST_F(InventoryReadsTest, ListEventsByCorrelationPagesInCommitOrder) {
  AddProduct("a", 5, "order-7");
  AddProduct("b", 5, "other");
  Receive("b", 1, "", "order-7");
  Reserve("a", "r-1", 1, "", "order-7");
  Reserve("b", "r-2", 1);

  v1::ListEventsByCorrelationRequest request;
  request.set_correlation_id("order-7");
  request.set_page_size(2);
  std::vector<std::string> seen;
  for (int turns = 0; turns < 5; ++turns) {
    v1::ListEventsByCorrelationResponse response;
    ASSERT_THAT(ByCorrelation(request, &response), IsOk());
    for (const v1::RecordedEvent& event : response.events()) {
      seen.push_back(absl::StrCat(event.stream_id(), " ", event.type()));
      EXPECT_THAT(event.metadata_json(), HasSubstr("order-7"));
    }
    if (response.next_page_token().empty()) break;
    request.set_page_token(response.next_page_token());
  }
  EXPECT_THAT(seen,
              ElementsAre("product-a product.added", "product-b stock.received",
                          "product-a stock.reserved"));
}

// ListEventsByCorrelation refuses a forged page token and an oversized page.
TEST_F(InventoryReadsTest, ListEventsByCorrelationValidates) {
  v1::ListEventsByCorrelationRequest request;
  request.set_correlation_id("order-7");
  request.set_page_token("not-a-token");
  v1::ListEventsByCorrelationResponse response;
  grpc::Status token = ByCorrelation(request, &response);
  EXPECT_THAT(token,
              StatusIs(absl::StatusCode::kInvalidArgument, "INVALID_FIELD"));
  EXPECT_THAT(token.error_message(), HasSubstr("page_token"));

  request.clear_page_token();
  request.set_page_size(1001);
  EXPECT_THAT(ByCorrelation(request, &response),
              StatusIs(absl::StatusCode::kInvalidArgument, "INVALID_FIELD"));
  request.set_page_size(0);
  request.set_correlation_id("");
  EXPECT_THAT(ByCorrelation(request, &response),
              StatusIs(absl::StatusCode::kInvalidArgument, "INVALID_FIELD"));

  request.set_correlation_id("nobody");
  ASSERT_THAT(ByCorrelation(request, &response), IsOk());
  EXPECT_THAT(response.events(), IsEmpty());
  EXPECT_TRUE(response.next_page_token().empty());
}

}  // namespace
}  // namespace inventory
