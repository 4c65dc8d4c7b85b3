// The operator's console in a real browser: both servers as processes on
// a real PostgreSQL, a product with a known history written through gRPC,
// and headless Chromium driven by tests/browser/console_test.mjs, which
// checks the pages and tells this test when to append for the live view.
#include <chrono>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "cart/v1/cart.grpc.pb.h"
#include "common/util/proto_time.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "inventory/v1/inventory.grpc.pb.h"
#include "tests/support/child_process.h"
#include "tests/support/server_process.h"
#include "tests/support/test_database.h"

namespace {

using ::shop::testing::ChildProcess;
using ::shop::testing::MigrateAsOwner;
using ::shop::testing::PortOf;
using ::shop::testing::TestRoles;
using ::shop::testing::TestSchema;

constexpr char kProduct[] = "trail-runner";
constexpr char kCorrelation[] = "order-walkthrough-1";
// Part of one receipt's reference: must show as text, never run.
constexpr char kXss[] =
    "<script>window.__pwned=1</script><img src=x "
    "onerror=\"window.__pwned=2\">";

std::unique_ptr<grpc::ClientContext> Context(
    const std::string& correlation = "") {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(std::chrono::system_clock::now() +
                        std::chrono::seconds(20));
  context->AddMetadata("x-caused-by", "user:ops-test");
  if (!correlation.empty()) {
    context->AddMetadata("x-correlation-id", correlation);
  }
  return context;
}

class ConsoleBrowserTest : public ::testing::Test {
 protected:
  void SetUp() override {
    MigrateAsOwner(INVENTORY_SERVER, inventory_roles_);
    MigrateAsOwner(CART_SERVER, cart_roles_);
    inventory_server_ = std::make_unique<ChildProcess>(
        INVENTORY_SERVER,
        std::vector<std::string>{
            "--listen=127.0.0.1:0",
            "--database_url=" + inventory_roles_.ServingDsn(),
            "--schema=" + inventory_schema_.name(),
            "--metrics_listen=127.0.0.1:0", "--access_log=false"});
    const int inventory_port = PortOf(*inventory_server_);
    inventory_console_ = PortOf(*inventory_server_, "serving metrics on port");
    cart_server_ = std::make_unique<ChildProcess>(
        CART_SERVER,
        std::vector<std::string>{
            "--listen=127.0.0.1:0",
            "--database_url=" + cart_roles_.ServingDsn(),
            "--schema=" + cart_schema_.name(), "--metrics_listen=127.0.0.1:0",
            "--access_log=false",
            absl::StrCat("--inventory_address=127.0.0.1:", inventory_port)});
    const int cart_port = PortOf(*cart_server_);
    cart_console_ = PortOf(*cart_server_, "serving metrics on port");
    inventory_ = inventory::v1::InventoryService::NewStub(
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", inventory_port),
                            grpc::InsecureChannelCredentials()));
    carts_ = cart::v1::CartService::NewStub(
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", cart_port),
                            grpc::InsecureChannelCredentials()));
  }

  // Two warehouses, a receipt whose reference holds markup, a recount, a
  // transfer, and a shopper's cart checked out under kCorrelation.
  void WriteHistory() {
    inventory::v1::AddWarehouseRequest east;
    east.set_warehouse_id("east");
    east.set_name("East coast");
    inventory::v1::AddWarehouseResponse added_east;
    ASSERT_TRUE(
        inventory_->AddWarehouse(Context().get(), east, &added_east).ok());
    inventory::v1::AddProductRequest product;
    product.set_product_id(kProduct);
    product.set_name("Trail runner");
    product.set_price_cents(8900);
    product.set_initial_quantity(20);
    inventory::v1::AddProductResponse added;
    ASSERT_TRUE(inventory_->AddProduct(Context().get(), product, &added).ok());
    Receive("east", 12, "receipt-1", absl::StrCat("PO 4471 ", kXss));
    inventory::v1::AdjustStockRequest count;
    count.set_product_id(kProduct);
    count.set_adjustment_id("count-1");
    count.set_warehouse_id("east");
    count.set_counted_quantity(11);
    count.set_reason(inventory::v1::ADJUSTMENT_REASON_PHYSICAL_COUNT);
    count.set_notes("cycle count, aisle 4");
    inventory::v1::AdjustStockResponse counted;
    grpc::Status adjusted =
        inventory_->AdjustStock(Context().get(), count, &counted);
    ASSERT_TRUE(adjusted.ok()) << adjusted.error_message();
    inventory::v1::TransferStockRequest transfer;
    transfer.set_product_id(kProduct);
    transfer.set_transfer_id("transfer-1");
    transfer.set_from_warehouse_id("main");
    transfer.set_to_warehouse_id("east");
    transfer.set_quantity(4);
    inventory::v1::TransferStockResponse moved;
    ASSERT_TRUE(
        inventory_->TransferStock(Context().get(), transfer, &moved).ok());

    cart::v1::CreateCartRequest create;
    create.set_cart_id("walkthrough");
    create.set_customer_id("customer-7");
    cart::v1::CreateCartResponse created;
    ASSERT_TRUE(
        carts_->CreateCart(Context(kCorrelation).get(), create, &created).ok());
    cart::v1::AddItemRequest item;
    item.set_cart_id("walkthrough");
    item.set_product_id(kProduct);
    item.set_quantity(2);
    item.set_request_id("add-1");
    cart::v1::AddItemResponse added_item;
    ASSERT_TRUE(
        carts_->AddItem(Context(kCorrelation).get(), item, &added_item).ok());
    cart::v1::CheckoutRequest checkout;
    checkout.set_cart_id("walkthrough");
    cart::v1::CheckoutResponse checked_out;
    grpc::Status done =
        carts_->Checkout(Context(kCorrelation).get(), checkout, &checked_out);
    ASSERT_TRUE(done.ok()) << done.error_message();
  }

  void Receive(const std::string& warehouse, int64_t quantity,
               const std::string& receipt_id, const std::string& reference) {
    inventory::v1::ReceiveStockRequest request;
    request.set_product_id(kProduct);
    request.set_warehouse_id(warehouse);
    request.set_quantity(quantity);
    request.set_receipt_id(receipt_id);
    request.set_reference(reference);
    inventory::v1::ReceiveStockResponse response;
    grpc::Status status =
        inventory_->ReceiveStock(Context().get(), request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }

  // What the page must show, from the gRPC reads.
  std::vector<std::string> Expectations() {
    inventory::v1::GetStockRequest get;
    get.set_product_id(kProduct);
    inventory::v1::GetStockResponse stock;
    EXPECT_TRUE(inventory_->GetStock(Context().get(), get, &stock).ok());
    std::vector<std::string> warehouses;
    for (const auto& w : stock.warehouses())
      warehouses.push_back(w.warehouse_id());

    inventory::v1::ListProductEventsRequest list;
    list.set_product_id(kProduct);
    list.set_direction(inventory::v1::READ_DIRECTION_BACKWARD);
    list.set_max_count(5);
    inventory::v1::ListProductEventsResponse history;
    EXPECT_TRUE(
        inventory_->ListProductEvents(Context().get(), list, &history).ok());
    std::vector<std::string> history_types;
    for (const auto& e : history.events()) history_types.push_back(e.type());

    // Both services' events of the order, merged by time.
    std::vector<std::pair<absl::Time, std::string>> correlated;
    inventory::v1::ListEventsByCorrelationRequest by_inventory;
    by_inventory.set_correlation_id(kCorrelation);
    inventory::v1::ListEventsByCorrelationResponse inventory_events;
    EXPECT_TRUE(inventory_
                    ->ListEventsByCorrelation(Context().get(), by_inventory,
                                              &inventory_events)
                    .ok());
    for (const auto& e : inventory_events.events()) {
      correlated.emplace_back(shop::FromProto(e.recorded_at()), e.type());
    }
    cart::v1::ListEventsByCorrelationRequest by_cart;
    by_cart.set_correlation_id(kCorrelation);
    cart::v1::ListEventsByCorrelationResponse cart_events;
    EXPECT_TRUE(
        carts_->ListEventsByCorrelation(Context().get(), by_cart, &cart_events)
            .ok());
    for (const auto& e : cart_events.events()) {
      correlated.emplace_back(shop::FromProto(e.recorded_at()), e.type());
    }
    EXPECT_GT(inventory_events.events_size(), 0);
    EXPECT_GT(cart_events.events_size(), 0);
    std::stable_sort(
        correlated.begin(), correlated.end(),
        [](const auto& a, const auto& b) { return a.first < b.first; });
    std::vector<std::string> correlation_types;
    for (const auto& [at, type] : correlated) correlation_types.push_back(type);

    const char* screenshots = std::getenv("CONSOLE_SCREENSHOT_DIR");
    return {
        "CHROMIUM=/usr/bin/chromium",
        absl::StrCat("INVENTORY_CONSOLE=http://127.0.0.1:", inventory_console_),
        absl::StrCat("CART_CONSOLE=http://127.0.0.1:", cart_console_),
        absl::StrCat("PRODUCT_ID=", kProduct),
        absl::StrCat("EXPECTED_ON_HAND=", stock.on_hand()),
        absl::StrCat("EXPECTED_AVAILABLE=", stock.available()),
        "EXPECTED_WAREHOUSES=" + absl::StrJoin(warehouses, ","),
        "EXPECTED_HISTORY_TYPES=" + absl::StrJoin(history_types, ","),
        absl::StrCat("XSS_TEXT=", kXss),
        absl::StrCat("CORRELATION_ID=", kCorrelation),
        "EXPECTED_CORRELATION_TYPES=" + absl::StrJoin(correlation_types, ","),
        "LIVE_MARKER=live-receipt-1",
        absl::StrCat("SCREENSHOT_DIR=",
                     screenshots == nullptr ? "" : screenshots),
    };
  }

  TestSchema inventory_schema_{"console_inv"};
  TestRoles inventory_roles_{inventory_schema_};
  TestSchema cart_schema_{"console_cart"};
  TestRoles cart_roles_{cart_schema_};
  std::unique_ptr<ChildProcess> inventory_server_;
  std::unique_ptr<ChildProcess> cart_server_;
  int inventory_console_ = 0;
  int cart_console_ = 0;
  std::unique_ptr<inventory::v1::InventoryService::Stub> inventory_;
  std::unique_ptr<cart::v1::CartService::Stub> carts_;
};

// The product page, the order's correlation page and the live view show
// what the services hold; markup in a payload stays text; an event
// appended through gRPC is on the live page within 2 s; a pause loses
// nothing.
TEST_F(ConsoleBrowserTest, OperatorInvestigatesInTheBrowser) {
  ASSERT_NO_FATAL_FAILURE(WriteHistory());
  ChildProcess browser(NODE_EXECUTABLE, {BROWSER_TEST_SCRIPT}, Expectations());
  ASSERT_TRUE(browser.WaitForLine("LIVE_READY", absl::Seconds(120)).has_value())
      << absl::StrJoin(browser.Lines(), "\n");
  const absl::Time appended = absl::Now();
  Receive("main", 3, "live-receipt-1", "live view check");
  std::optional<std::string> seen =
      browser.WaitForLine("LIVE_SEEN ", absl::Seconds(15));
  ASSERT_TRUE(seen.has_value()) << absl::StrJoin(browser.Lines(), "\n");
  int64_t seen_ms = 0;
  ASSERT_TRUE(absl::SimpleAtoi(seen->substr(seen->find(' ') + 1), &seen_ms));
  EXPECT_LE(seen_ms - absl::ToUnixMillis(appended), 2000)
      << "the live view showed the event this long after its append";

  // A second shopper, for the live view's cart column.
  cart::v1::CreateCartRequest create;
  create.set_cart_id("live-shopper");
  create.set_customer_id("customer-8");
  cart::v1::CreateCartResponse created;
  ASSERT_TRUE(carts_->CreateCart(Context().get(), create, &created).ok());
  cart::v1::AddItemRequest item;
  item.set_cart_id("live-shopper");
  item.set_product_id(kProduct);
  item.set_quantity(1);
  item.set_request_id("live-add-1");
  cart::v1::AddItemResponse added;
  ASSERT_TRUE(carts_->AddItem(Context().get(), item, &added).ok());

  ASSERT_TRUE(browser.WaitForLine("PAUSED", absl::Seconds(30)).has_value())
      << absl::StrJoin(browser.Lines(), "\n");
  Receive("east", 1, "while-paused-1", "appended while paused");
  ASSERT_TRUE(browser.WriteLine("APPENDED_WHILE_PAUSED while-paused-1"));
  EXPECT_EQ(browser.WaitForExit(absl::Seconds(90)), 0)
      << absl::StrJoin(browser.Lines(), "\n");
  EXPECT_TRUE(browser.WaitForLine("PASS", absl::Seconds(1)).has_value())
      << absl::StrJoin(browser.Lines(), "\n");
}

}  // namespace
