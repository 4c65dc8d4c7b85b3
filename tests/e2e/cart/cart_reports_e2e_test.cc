// The cart's read models across both real services over loopback gRPC and
// a real PostgreSQL: a customer's carts by state, page by page, and sales
// per day in different time zones.
#include <chrono>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "cart/v1/order_events.pb.h"
#include "common/eventstore/uuid.h"
#include "common/util/proto_json.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "pqxx/pqxx"
#include "tests/support/cart_harness.h"
#include "tests/support/inventory_harness.h"
#include "tests/support/status_matchers.h"

namespace cart {
namespace {

using ::shop::testing::CartHarness;
using ::shop::testing::InventoryHarness;
using ::shop::testing::LastCommittedPosition;
using ::shop::testing::StatusIs;
using ::shop::testing::TestDsn;
using ::shop::testing::TestSchema;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

class Call : public grpc::ClientContext {
 public:
  Call() {
    set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  }
};

class CartReportsE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    inventory::v1::AddProductRequest request;
    request.set_product_id("boot");
    request.set_name("Boot");
    request.set_price_cents(5000);
    request.set_initial_quantity(100);
    inventory::v1::AddProductResponse response;
    Call context;
    ASSERT_TRUE(
        inventory_.stub().AddProduct(&context, request, &response).ok());
  }

  void CreateCart(const std::string& cart_id, const std::string& customer) {
    v1::CreateCartRequest request;
    request.set_cart_id(cart_id);
    request.set_customer_id(customer);
    v1::CreateCartResponse response;
    Call context;
    ASSERT_TRUE(cart_.stub().CreateCart(&context, request, &response).ok());
  }
  void AddBoots(const std::string& cart_id, int quantity) {
    v1::AddItemRequest request;
    request.set_cart_id(cart_id);
    request.set_product_id("boot");
    request.set_quantity(quantity);
    v1::AddItemResponse response;
    Call context;
    ASSERT_TRUE(cart_.stub().AddItem(&context, request, &response).ok());
  }
  std::string Checkout(const std::string& cart_id) {
    v1::CheckoutRequest request;
    request.set_cart_id(cart_id);
    v1::CheckoutResponse response;
    Call context;
    EXPECT_TRUE(cart_.stub().Checkout(&context, request, &response).ok());
    return response.order_id();
  }
  void CaughtUp() {
    const eventstore::GlobalPosition end =
        LastCommittedPosition(cart_schema_.name());
    ASSERT_TRUE(cart_.reports().carts_projection().AwaitApplied(
        end, absl::Seconds(20)));
    ASSERT_TRUE(cart_.reports().sales_projection().AwaitApplied(
        end, absl::Seconds(20)));
  }

  // "cart_id state items total" of each cart listed, through all pages.
  std::vector<std::string> Carts(const std::string& customer,
                                 v1::CartState state, int page_size = 0) {
    v1::ListCartsRequest request;
    request.set_customer_id(customer);
    request.set_state(state);
    request.set_page_size(page_size);
    std::vector<std::string> out;
    do {
      v1::ListCartsResponse page;
      Call context;
      EXPECT_TRUE(cart_.stub().ListCarts(&context, request, &page).ok());
      for (const v1::CartSummary& summary : page.carts()) {
        out.push_back(absl::StrCat(
            summary.cart_id(), " ", v1::CartState_Name(summary.state()), " ",
            summary.item_count(), " ", summary.total_cents()));
      }
      request.set_page_token(page.next_page_token());
    } while (!request.page_token().empty());
    return out;
  }

  // Writes an order.placed as of `at`, as a checkout then would have.
  void PlacedAt(const std::string& order_id, int64_t total_cents,
                const std::string& at) {
    v1::OrderPlaced placed;
    placed.set_customer_id("alice");
    placed.set_cart_id(absl::StrCat("cart-of-", order_id));
    placed.set_total_cents(total_cents);
    pqxx::connection connection(TestDsn());
    pqxx::work tx(connection);
    tx.exec_params(absl::StrCat("INSERT INTO ", cart_schema_.name(),
                                ".events (stream_id, version, event_id, type, "
                                "data, recorded_at) VALUES ($1, 1, $2, "
                                "'order.placed', $3, $4)"),
                   absl::StrCat("order-", order_id), eventstore::NewUuid(),
                   shop::ToJson(placed), at);
    // As another replica announces its commits to the feeds.
    tx.exec_params("SELECT pg_notify($1, pg_current_xact_id()::text)",
                   cart_schema_.name());
    tx.commit();
  }

  // "day total orders" for each day of the range.
  std::vector<std::string> Sales(const std::string& from, const std::string& to,
                                 const std::string& zone) {
    v1::GetSalesByDayRequest request;
    request.set_from_day(from);
    request.set_to_day(to);
    request.set_time_zone(zone);
    v1::GetSalesByDayResponse response;
    Call context;
    EXPECT_TRUE(cart_.stub().GetSalesByDay(&context, request, &response).ok());
    std::vector<std::string> out;
    for (const v1::DaySales& day : response.days()) {
      out.push_back(
          absl::StrCat(day.day(), " ", day.total_cents(), " ", day.orders()));
    }
    return out;
  }

  TestSchema inventory_schema_{"reports_inventory"};
  TestSchema cart_schema_{"reports_cart"};
  InventoryHarness inventory_{inventory_schema_.name()};
  CartHarness cart_{cart_schema_.name(), inventory_.address()};
};

TEST_F(CartReportsE2eTest, ListsACustomersCartsByStateNewestFirst) {
  CreateCart("a-1", "alice");
  AddBoots("a-1", 2);
  CreateCart("b-1", "bob");
  CreateCart("a-2", "alice");
  AddBoots("a-2", 1);
  AddBoots("a-2", 3);
  CreateCart("a-3", "alice");
  Checkout("a-2");
  CaughtUp();

  EXPECT_THAT(Carts("alice", v1::CART_STATE_ANY),
              ElementsAre("a-3 CART_STATE_OPEN 0 0",
                          "a-2 CART_STATE_CHECKED_OUT 4 20000",
                          "a-1 CART_STATE_OPEN 2 10000"));
  EXPECT_THAT(Carts("alice", v1::CART_STATE_UNSPECIFIED, 1),
              ElementsAre("a-3 CART_STATE_OPEN 0 0",
                          "a-2 CART_STATE_CHECKED_OUT 4 20000",
                          "a-1 CART_STATE_OPEN 2 10000"));
  EXPECT_THAT(
      Carts("alice", v1::CART_STATE_OPEN),
      ElementsAre("a-3 CART_STATE_OPEN 0 0", "a-1 CART_STATE_OPEN 2 10000"));
  EXPECT_THAT(Carts("alice", v1::CART_STATE_CHECKED_OUT),
              ElementsAre("a-2 CART_STATE_CHECKED_OUT 4 20000"));
  EXPECT_THAT(Carts("bob", v1::CART_STATE_ANY),
              ElementsAre("b-1 CART_STATE_OPEN 0 0"));
  EXPECT_THAT(Carts("carol", v1::CART_STATE_ANY), ::testing::IsEmpty());
}

// AddItem's and Checkout's positions as min_position: ListCarts and
// GetSalesByDay then show those writes.
TEST_F(CartReportsE2eTest, WritePositionsReadYourWrites) {
  CreateCart("a-1", "alice");
  for (int i = 1; i <= 5; ++i) {
    v1::AddItemRequest add;
    add.set_cart_id("a-1");
    add.set_product_id("boot");
    add.set_quantity(1);
    v1::AddItemResponse added;
    Call add_context;
    ASSERT_TRUE(cart_.stub().AddItem(&add_context, add, &added).ok());
    v1::ListCartsRequest list;
    list.set_customer_id("alice");
    list.set_min_position(added.position());
    v1::ListCartsResponse page;
    Call context;
    ASSERT_TRUE(cart_.stub().ListCarts(&context, list, &page).ok());
    ASSERT_EQ(page.carts_size(), 1);
    EXPECT_EQ(page.carts(0).item_count(), i);
  }
  v1::CheckoutRequest checkout;
  checkout.set_cart_id("a-1");
  v1::CheckoutResponse checked_out;
  Call checkout_context;
  ASSERT_TRUE(
      cart_.stub().Checkout(&checkout_context, checkout, &checked_out).ok());
  const std::string today =
      absl::FormatTime("%Y-%m-%d", absl::Now(), absl::UTCTimeZone());
  v1::GetSalesByDayRequest sales;
  sales.set_from_day(today);
  sales.set_to_day(today);
  sales.set_min_position(checked_out.position());
  v1::GetSalesByDayResponse report;
  Call context;
  ASSERT_TRUE(cart_.stub().GetSalesByDay(&context, sales, &report).ok());
  ASSERT_EQ(report.days_size(), 1);
  EXPECT_EQ(report.days(0).total_cents(), 25000);
}

TEST_F(CartReportsE2eTest, SalesFallOnTheDayOfTheirTimeZone) {
  PlacedAt("o-1", 100, "2026-03-01T23:30:00Z");
  PlacedAt("o-2", 200, "2026-03-02T00:10:00Z");
  PlacedAt("o-3", 400, "2026-03-02T12:00:00Z");
  CaughtUp();

  EXPECT_THAT(
      Sales("2026-02-28", "2026-03-02", ""),
      ElementsAre("2026-02-28 0 0", "2026-03-01 100 1", "2026-03-02 600 2"));
  // UTC+1 in March: 23:30Z is already the 2nd.
  EXPECT_THAT(Sales("2026-03-01", "2026-03-02", "Europe/Berlin"),
              ElementsAre("2026-03-01 0 0", "2026-03-02 700 3"));
  // UTC-5: 00:10Z is still the 1st.
  EXPECT_THAT(Sales("2026-03-01", "2026-03-02", "America/New_York"),
              ElementsAre("2026-03-01 300 2", "2026-03-02 400 1"));
  // A real checkout counts on today's date.
  CreateCart("a-1", "alice");
  AddBoots("a-1", 2);
  Checkout("a-1");
  CaughtUp();
  const std::string today =
      absl::FormatTime("%Y-%m-%d", absl::Now(), absl::UTCTimeZone());
  EXPECT_THAT(Sales(today, today, "UTC"),
              ElementsAre(absl::StrCat(today, " 10000 1")));
}

// The cart's feed: a checkout's events arrive live, in commit order, and
// the order's stream is in it too; a type filter keeps only what it names.
TEST_F(CartReportsE2eTest, SubscribeDeliversTheCartsAndOrdersEvents) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(30));
  v1::SubscribeRequest request;
  request.set_from_position("end");
  auto reader = cart_.stub().Subscribe(&context, request);
  v1::SubscribeResponse message;
  ASSERT_TRUE(reader->Read(&message));
  ASSERT_TRUE(message.caught_up());

  CreateCart("a-1", "alice");
  AddBoots("a-1", 1);
  const std::string order_id = Checkout("a-1");
  std::vector<std::string> seen;
  while (seen.size() < 5 && reader->Read(&message)) {
    for (const v1::RecordedEvent& event : message.events()) {
      seen.push_back(absl::StrCat(event.stream_id(), " ", event.type()));
      EXPECT_FALSE(event.position().empty());
    }
  }
  EXPECT_THAT(
      seen,
      ElementsAre("cart-a-1 cart.created", "cart-a-1 item.added",
                  "cart-a-1 checkout.started", "cart-a-1 cart.checked_out",
                  absl::StrCat("order-", order_id, " order.placed")));
  context.TryCancel();
  reader->Finish();

  grpc::ClientContext filtered_context;
  filtered_context.set_deadline(std::chrono::system_clock::now() +
                                std::chrono::seconds(30));
  v1::SubscribeRequest filtered;
  filtered.add_types("order.placed");
  auto orders = cart_.stub().Subscribe(&filtered_context, filtered);
  std::vector<std::string> placed;
  while (orders->Read(&message)) {
    for (const v1::RecordedEvent& event : message.events()) {
      placed.push_back(event.stream_id());
    }
    if (message.caught_up()) break;
  }
  EXPECT_THAT(placed, ElementsAre(absl::StrCat("order-", order_id)));
  filtered_context.TryCancel();
  orders->Finish();
}

TEST_F(CartReportsE2eTest, RefusesBadQueriesNamingTheField) {
  struct Case {
    std::string from, to, zone, field;
  };
  for (const Case& c : std::vector<Case>{
           {"2026-3-1", "2026-03-02", "", "from_day"},
           {"2026-03-01", "tomorrow", "", "to_day"},
           {"2026-03-02", "2026-03-01", "", "to_day"},
           {"2025-01-01", "2026-03-01", "", "to_day"},
           {"2026-03-01", "2026-03-02", "Mars/Olympus", "time_zone"}}) {
    v1::GetSalesByDayRequest request;
    request.set_from_day(c.from);
    request.set_to_day(c.to);
    request.set_time_zone(c.zone);
    v1::GetSalesByDayResponse response;
    Call context;
    const grpc::Status status =
        cart_.stub().GetSalesByDay(&context, request, &response);
    EXPECT_THAT(status,
                StatusIs(absl::StatusCode::kInvalidArgument, "INVALID_FIELD"))
        << c.field;
    EXPECT_THAT(status.error_message(), HasSubstr(c.field));
  }
  for (const auto& [customer, state, token, field] :
       std::vector<std::tuple<std::string, int, std::string, std::string>>{
           {"", 0, "", "customer_id"},
           {"alice", 9, "", "state"},
           {"alice", 0, "garbage", "page_token"}}) {
    v1::ListCartsRequest request;
    request.set_customer_id(customer);
    request.set_state(static_cast<v1::CartState>(state));
    request.set_page_token(token);
    v1::ListCartsResponse response;
    Call context;
    const grpc::Status status =
        cart_.stub().ListCarts(&context, request, &response);
    EXPECT_THAT(status,
                StatusIs(absl::StatusCode::kInvalidArgument, "INVALID_FIELD"))
        << field;
    EXPECT_THAT(status.error_message(), HasSubstr(field));
  }
}

}  // namespace
}  // namespace cart
