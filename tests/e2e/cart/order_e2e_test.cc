// Orders across both real services over loopback gRPC and a real
// PostgreSQL: the whole life of an order with inventory's figures after
// each step, cancellation, an interrupted shipment finished by its retry,
// and cancel racing ship.
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/eventstore/position_token.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/cart/domain/order.h"
#include "tests/support/cart_harness.h"
#include "tests/support/inventory_harness.h"
#include "tests/support/reflection_client.h"
#include "tests/support/status_matchers.h"
#include "tests/support/tcp_proxy.h"

namespace cart {
namespace {

using ::shop::testing::CartHarness;
using ::shop::testing::InventoryHarness;
using ::shop::testing::TcpProxy;
using ::shop::testing::TestSchema;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// A call with a deadline, so that a hung service fails the test instead of
// hanging it.
class Call : public grpc::ClientContext {
 public:
  Call() {
    set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  }
};

class OrderE2eTest : public ::testing::Test {
 protected:
  static constexpr int64_t kStock = 40;

  void SetUp() override {
    AddProduct("boot", 5000, kStock);
    AddProduct("hat", 2000, kStock);
  }

  void AddProduct(const std::string& id, int64_t price, int64_t quantity) {
    inventory::v1::AddProductRequest request;
    request.set_product_id(id);
    request.set_name(id);
    request.set_price_cents(price);
    request.set_initial_quantity(quantity);
    inventory::v1::AddProductResponse response;
    Call context;
    ASSERT_TRUE(
        inventory_.stub().AddProduct(&context, request, &response).ok());
  }

  // A cart with 2 boots and 1 hat, checked out: its order id.
  std::string PlaceOrder(CartHarness& cart, const std::string& cart_id,
                         const std::string& customer_id = "alice") {
    v1::CreateCartRequest create;
    create.set_cart_id(cart_id);
    create.set_customer_id(customer_id);
    v1::CreateCartResponse created;
    Call create_context;
    EXPECT_TRUE(cart.stub().CreateCart(&create_context, create, &created).ok());
    for (const auto& [product, quantity] :
         std::vector<std::pair<std::string, int>>{{"boot", 2}, {"hat", 1}}) {
      v1::AddItemRequest add;
      add.set_cart_id(cart_id);
      add.set_product_id(product);
      add.set_quantity(quantity);
      v1::AddItemResponse added;
      Call context;
      EXPECT_TRUE(cart.stub().AddItem(&context, add, &added).ok());
    }
    v1::CheckoutRequest checkout;
    checkout.set_cart_id(cart_id);
    v1::CheckoutResponse checked_out;
    Call context;
    grpc::Status status =
        cart.stub().Checkout(&context, checkout, &checked_out);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return checked_out.order_id();
  }

  inventory::v1::GetStockResponse Stock(const std::string& product) {
    inventory::v1::GetStockRequest request;
    request.set_product_id(product);
    inventory::v1::GetStockResponse response;
    Call context;
    EXPECT_TRUE(inventory_.stub().GetStock(&context, request, &response).ok());
    return response;
  }
  // on_hand, committed, available of a product.
  std::vector<int64_t> Figures(const std::string& product) {
    const inventory::v1::GetStockResponse stock = Stock(product);
    return {stock.on_hand(), stock.committed(), stock.available()};
  }

  grpc::Status Get(CartHarness& cart, const std::string& order_id,
                   v1::Order* order) {
    v1::GetOrderRequest request;
    request.set_order_id(order_id);
    Call context;
    return cart.orders().GetOrder(&context, request, order);
  }
  grpc::Status StartProcessing(const std::string& order_id,
                               const std::string& request_id,
                               v1::Order* order) {
    v1::StartProcessingRequest request;
    request.set_order_id(order_id);
    request.set_request_id(request_id);
    Call context;
    return cart_.orders().StartProcessing(&context, request, order);
  }
  grpc::Status Ship(CartHarness& cart, const std::string& order_id,
                    const std::string& shipment_id, v1::Order* order) {
    v1::ShipOrderRequest request;
    request.set_order_id(order_id);
    request.set_shipment_id(shipment_id);
    Call context;
    return cart.orders().ShipOrder(&context, request, order);
  }
  grpc::Status Deliver(const std::string& order_id, v1::Order* order) {
    v1::ConfirmDeliveryRequest request;
    request.set_order_id(order_id);
    request.set_request_id("delivered-1");
    Call context;
    return cart_.orders().ConfirmDelivery(&context, request, order);
  }
  grpc::Status Cancel(CartHarness& cart, const std::string& order_id,
                      v1::Order* order) {
    v1::CancelOrderRequest request;
    request.set_order_id(order_id);
    request.set_reason("customer asked");
    request.set_request_id("cancel-1");
    Call context;
    return cart.orders().CancelOrder(&context, request, order);
  }
  grpc::Status Return(const std::string& order_id, const std::string& return_id,
                      const std::string& product, int64_t quantity,
                      inventory::v1::ReturnCondition condition,
                      v1::Order* order) {
    v1::ReturnItemsRequest request;
    request.set_order_id(order_id);
    request.set_return_id(return_id);
    v1::ReturnedLine* line = request.add_lines();
    line->set_product_id(product);
    line->set_quantity(quantity);
    line->set_reason(inventory::v1::RETURN_REASON_DEFECTIVE);
    line->set_condition(condition);
    Call context;
    return cart_.orders().ReturnItems(&context, request, order);
  }
  int CountInventoryEvents(const std::string& product,
                           const std::string& type) {
    inventory::v1::ListProductEventsRequest request;
    request.set_product_id(product);
    inventory::v1::ListProductEventsResponse response;
    Call context;
    EXPECT_TRUE(
        inventory_.stub().ListProductEvents(&context, request, &response).ok());
    int count = 0;
    for (const auto& event : response.events()) count += event.type() == type;
    return count;
  }

  TestSchema inventory_schema_{"orders_inventory"};
  TestSchema cart_schema_{"orders_cart"};
  InventoryHarness inventory_{inventory_schema_.name()};
  CartHarness cart_{cart_schema_.name(), inventory_.address()};
};

// Every answer carries the position of the order's last event: a
// transition's is past the one before it, a repeat's is the first call's,
// and as min_position it makes the sales report show the order.
TEST_F(OrderE2eTest, AnswersCarryThePositionOfTheOrdersLastEvent) {
  const std::string order_id = PlaceOrder(cart_, "c-1");
  v1::Order placed;
  ASSERT_TRUE(Get(cart_, order_id, &placed).ok());
  absl::StatusOr<eventstore::GlobalPosition> at_placing =
      eventstore::ParsePositionToken(placed.position(), "position");
  ASSERT_TRUE(at_placing.ok()) << at_placing.status();

  v1::Order processing;
  ASSERT_TRUE(StartProcessing(order_id, "proc-1", &processing).ok());
  absl::StatusOr<eventstore::GlobalPosition> at_processing =
      eventstore::ParsePositionToken(processing.position(), "position");
  ASSERT_TRUE(at_processing.ok()) << at_processing.status();
  EXPECT_GT(*at_processing, *at_placing);
  v1::Order repeated;
  ASSERT_TRUE(StartProcessing(order_id, "proc-1", &repeated).ok());
  EXPECT_EQ(repeated.position(), processing.position());

  const std::string today =
      absl::FormatTime("%Y-%m-%d", absl::Now(), absl::UTCTimeZone());
  v1::GetSalesByDayRequest sales;
  sales.set_from_day(today);
  sales.set_to_day(today);
  sales.set_min_position(placed.position());
  v1::GetSalesByDayResponse report;
  Call context;
  ASSERT_TRUE(cart_.stub().GetSalesByDay(&context, sales, &report).ok());
  ASSERT_EQ(report.days_size(), 1);
  EXPECT_EQ(report.days(0).total_cents(), placed.total_cents());
}

// Placed, processed, shipped, delivered, part returned: each step moves
// inventory's figures exactly once, and retries move nothing.
TEST_F(OrderE2eTest, TheWholeLifeOfAnOrder) {
  const std::string order_id = PlaceOrder(cart_, "c-1");
  EXPECT_EQ(order_id, "order-c-1");
  v1::Order order;
  ASSERT_TRUE(Get(cart_, order_id, &order).ok());
  EXPECT_EQ(order.status(), v1::ORDER_STATUS_PENDING);
  EXPECT_EQ(order.customer_id(), "alice");
  EXPECT_EQ(order.cart_id(), "c-1");
  EXPECT_EQ(order.total_cents(), 12000);
  ASSERT_EQ(order.lines_size(), 2);
  EXPECT_EQ(order.lines(0).product_id(), "boot");
  EXPECT_EQ(order.lines(0).quantity(), 2);
  EXPECT_EQ(order.lines(0).reservation_ids_size(), 1);
  EXPECT_THAT(Figures("boot"), ElementsAre(kStock, 2, kStock - 2));

  ASSERT_TRUE(StartProcessing(order_id, "proc-1", &order).ok());
  EXPECT_EQ(order.status(), v1::ORDER_STATUS_PROCESSING);
  ASSERT_TRUE(StartProcessing(order_id, "proc-1", &order).ok());

  grpc::Status shipped = Ship(cart_, order_id, "ship-1", &order);
  ASSERT_TRUE(shipped.ok()) << shipped.error_message();
  EXPECT_EQ(order.status(), v1::ORDER_STATUS_SHIPPED);
  EXPECT_EQ(order.shipment_id(), "ship-1");
  EXPECT_THAT(Figures("boot"), ElementsAre(kStock - 2, 0, kStock - 2));
  EXPECT_THAT(Figures("hat"), ElementsAre(kStock - 1, 0, kStock - 1));
  ASSERT_TRUE(Ship(cart_, order_id, "ship-1", &order).ok());
  EXPECT_THAT(Figures("boot"), ElementsAre(kStock - 2, 0, kStock - 2));
  EXPECT_EQ(CountInventoryEvents("boot", "stock.shipped"), 1);

  ASSERT_TRUE(Deliver(order_id, &order).ok());
  EXPECT_EQ(order.status(), v1::ORDER_STATUS_DELIVERED);

  grpc::Status returned =
      Return(order_id, "ret-1", "boot", 1,
             inventory::v1::RETURN_CONDITION_RESELLABLE, &order);
  ASSERT_TRUE(returned.ok()) << returned.error_message();
  EXPECT_EQ(order.refunded_cents(), 5000);
  ASSERT_EQ(order.returns_size(), 1);
  EXPECT_TRUE(order.returns(0).completed());
  EXPECT_THAT(Figures("boot"), ElementsAre(kStock - 1, 0, kStock - 1));
  // The same return again: nothing more comes back.
  ASSERT_TRUE(Return(order_id, "ret-1", "boot", 1,
                     inventory::v1::RETURN_CONDITION_RESELLABLE, &order)
                  .ok());
  EXPECT_THAT(Figures("boot"), ElementsAre(kStock - 1, 0, kStock - 1));
  // A damaged one is quarantined, not available.
  ASSERT_TRUE(Return(order_id, "ret-2", "boot", 1,
                     inventory::v1::RETURN_CONDITION_DAMAGED, &order)
                  .ok());
  const inventory::v1::GetStockResponse boot = Stock("boot");
  EXPECT_EQ(boot.available(), kStock - 1);
  EXPECT_EQ(boot.damaged(), 1);
  // Both boots are back: a third is refused before inventory hears of it.
  grpc::Status refused =
      Return(order_id, "ret-3", "boot", 1,
             inventory::v1::RETURN_CONDITION_RESELLABLE, &order);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(refused.error_message(), HasSubstr("cannot return 1 more"));
  EXPECT_EQ(CountInventoryEvents("boot", "stock.returned"), 2);

  ASSERT_TRUE(Get(cart_, order_id, &order).ok());
  std::vector<v1::OrderStatus> history;
  for (const v1::StatusChange& change : order.history()) {
    history.push_back(change.status());
    EXPECT_GT(change.at().seconds(), 0);
  }
  EXPECT_THAT(history,
              ElementsAre(v1::ORDER_STATUS_PENDING, v1::ORDER_STATUS_PROCESSING,
                          v1::ORDER_STATUS_SHIPPING, v1::ORDER_STATUS_SHIPPED,
                          v1::ORDER_STATUS_DELIVERED));
  EXPECT_EQ(order.refunded_cents(), 10000);
}

// The order's events in both services carry its id as correlation id.
TEST_F(OrderE2eTest, TheOrderIdTellsItsStoryInBothServices) {
  const std::string order_id = PlaceOrder(cart_, "c-1");
  v1::Order order;
  ASSERT_TRUE(StartProcessing(order_id, "p", &order).ok());
  ASSERT_TRUE(Ship(cart_, order_id, "ship-1", &order).ok());

  v1::ListEventsByCorrelationRequest cart_request;
  cart_request.set_correlation_id(order_id);
  v1::ListEventsByCorrelationResponse cart_events;
  Call cart_context;
  ASSERT_TRUE(
      cart_.stub()
          .ListEventsByCorrelation(&cart_context, cart_request, &cart_events)
          .ok());
  std::vector<std::string> cart_story;
  for (const auto& event : cart_events.events()) {
    cart_story.push_back(event.type());
  }
  EXPECT_THAT(cart_story,
              ElementsAre("order.placed", "order.processing_started",
                          "order.shipment_started", "order.shipped"));

  inventory::v1::ListEventsByCorrelationRequest request;
  request.set_correlation_id(order_id);
  inventory::v1::ListEventsByCorrelationResponse events;
  Call context;
  ASSERT_TRUE(inventory_.stub()
                  .ListEventsByCorrelation(&context, request, &events)
                  .ok());
  std::vector<std::string> story;
  for (const auto& event : events.events()) {
    story.push_back(absl::StrCat(event.stream_id(), " ", event.type()));
  }
  EXPECT_THAT(story, ElementsAre("product-boot stock.shipped",
                                 "product-hat stock.shipped"));
}

// Cancelling before shipping gives every unit back; what the order's
// status does not allow is refused naming both states.
TEST_F(OrderE2eTest, CancelBeforeShippingGivesTheUnitsBack) {
  const std::string order_id = PlaceOrder(cart_, "c-1");
  v1::Order order;
  grpc::Status cancelled = Cancel(cart_, order_id, &order);
  ASSERT_TRUE(cancelled.ok()) << cancelled.error_message();
  EXPECT_EQ(order.status(), v1::ORDER_STATUS_CANCELLED);
  EXPECT_EQ(order.cancel_reason(), "customer asked");
  EXPECT_THAT(Figures("boot"), ElementsAre(kStock, 0, kStock));
  EXPECT_THAT(Figures("hat"), ElementsAre(kStock, 0, kStock));
  ASSERT_TRUE(Cancel(cart_, order_id, &order).ok());

  grpc::Status refused = Ship(cart_, order_id, "ship-1", &order);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(refused.error_message(),
              HasSubstr("order " + order_id + ": it is cancelled"));
  EXPECT_EQ(CountInventoryEvents("boot", "stock.shipped"), 0);

  v1::Order missing;
  EXPECT_EQ(Get(cart_, "order-none", &missing).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

// Inventory goes away after shipping the first product: ShipOrder is
// UNAVAILABLE and the order stays SHIPPING (nothing else may start); the
// retry once inventory is back finishes it, and no unit ships twice.
TEST_F(OrderE2eTest, AnInterruptedShipmentIsFinishedByItsRetry) {
  TcpProxy proxy("127.0.0.1", std::stoi(inventory_.address().substr(10)));
  CartHarness cart(cart_schema_.name(),
                   absl::StrCat("127.0.0.1:", proxy.port()), {},
                   absl::Seconds(2));
  const std::string order_id = PlaceOrder(cart, "c-1");
  v1::Order order;
  ASSERT_TRUE(StartProcessing(order_id, "p", &order).ok());
  // The boot's shipment lands but its answer is lost, and inventory is cut.
  proxy.DropReplyTo(InventoryShipmentId(order_id, "ship-1"),
                    /*then_cut=*/true);
  grpc::Status interrupted = Ship(cart, order_id, "ship-1", &order);
  EXPECT_EQ(interrupted.error_code(), grpc::StatusCode::UNAVAILABLE)
      << interrupted.error_message();
  ASSERT_TRUE(Get(cart, order_id, &order).ok());
  EXPECT_EQ(order.status(), v1::ORDER_STATUS_SHIPPING);
  EXPECT_EQ(Cancel(cart, order_id, &order).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(Figures("boot"), ElementsAre(kStock - 2, 0, kStock - 2));
  EXPECT_THAT(Figures("hat"), ElementsAre(kStock, 1, kStock - 1));

  proxy.Restore();
  grpc::Status finished = Ship(cart, order_id, "ship-1", &order);
  ASSERT_TRUE(finished.ok()) << finished.error_message();
  EXPECT_EQ(order.status(), v1::ORDER_STATUS_SHIPPED);
  EXPECT_THAT(Figures("boot"), ElementsAre(kStock - 2, 0, kStock - 2));
  EXPECT_THAT(Figures("hat"), ElementsAre(kStock - 1, 0, kStock - 1));
  EXPECT_EQ(CountInventoryEvents("boot", "stock.shipped"), 1);
  EXPECT_EQ(CountInventoryEvents("hat", "stock.shipped"), 1);
}

// Cancel and ship race on each of many orders, from two cart replicas:
// exactly one wins each race, and inventory ends as the winner says.
TEST_F(OrderE2eTest, CancelRacingShipHasOneWinner) {
  CartHarness replica(cart_schema_.name(), inventory_.address());
  constexpr int kOrders = 16;
  std::vector<std::string> orders;
  for (int i = 0; i < kOrders; ++i) {
    orders.push_back(PlaceOrder(cart_, absl::StrCat("race-", i)));
    v1::Order order;
    ASSERT_TRUE(StartProcessing(orders.back(), "p", &order).ok());
  }
  int shipped = 0;
  int cancelled = 0;
  for (const std::string& order_id : orders) {
    grpc::Status ship_status;
    grpc::Status cancel_status;
    v1::Order ship_answer;
    v1::Order cancel_answer;
    std::thread shipper(
        [&] { ship_status = Ship(cart_, order_id, "ship-1", &ship_answer); });
    std::thread canceller(
        [&] { cancel_status = Cancel(replica, order_id, &cancel_answer); });
    shipper.join();
    canceller.join();
    EXPECT_NE(ship_status.ok(), cancel_status.ok())
        << order_id << ": ship " << ship_status.error_message() << ", cancel "
        << cancel_status.error_message();
    const grpc::Status& lost = ship_status.ok() ? cancel_status : ship_status;
    EXPECT_EQ(lost.error_code(), grpc::StatusCode::FAILED_PRECONDITION)
        << lost.error_message();
    shipped += ship_status.ok() ? 1 : 0;
    cancelled += cancel_status.ok() ? 1 : 0;
  }
  EXPECT_EQ(shipped + cancelled, kOrders);
  // Each shipped order took 2 boots and 1 hat off hand; each cancelled one
  // gave them back to available.
  EXPECT_THAT(Figures("boot"),
              ElementsAre(kStock - 2 * shipped, 0, kStock - 2 * shipped));
  EXPECT_THAT(Figures("hat"),
              ElementsAre(kStock - shipped, 0, kStock - shipped));
}

// A customer's orders, newest first, page by page, and by status.
TEST_F(OrderE2eTest, ListOrdersPagesACustomersOrders) {
  for (const char* cart_id : {"c-1", "c-2", "c-3"}) PlaceOrder(cart_, cart_id);
  PlaceOrder(cart_, "c-bob", "bob");
  v1::Order order;
  ASSERT_TRUE(Cancel(cart_, "order-c-2", &order).ok());

  auto list = [&](v1::OrderStatus status, const std::string& token) {
    v1::ListOrdersRequest request;
    request.set_customer_id("alice");
    request.set_status(status);
    request.set_page_size(2);
    request.set_page_token(token);
    v1::ListOrdersResponse response;
    Call context;
    EXPECT_TRUE(cart_.orders().ListOrders(&context, request, &response).ok());
    std::vector<std::string> ids;
    for (const v1::Order& listed : response.orders()) {
      ids.push_back(listed.order_id());
    }
    return std::make_pair(ids, response.next_page_token());
  };
  const auto first = list(v1::ORDER_STATUS_UNSPECIFIED, "");
  EXPECT_THAT(first.first, ElementsAre("order-c-3", "order-c-2"));
  ASSERT_FALSE(first.second.empty());
  const auto second = list(v1::ORDER_STATUS_UNSPECIFIED, first.second);
  EXPECT_THAT(second.first, ElementsAre("order-c-1"));
  EXPECT_TRUE(second.second.empty());
  const auto cancelled = list(v1::ORDER_STATUS_CANCELLED, "");
  EXPECT_THAT(cancelled.first, ElementsAre("order-c-2"));
  EXPECT_TRUE(cancelled.second.empty());

  v1::ListOrdersRequest bad;
  bad.set_customer_id("alice");
  bad.set_page_token("not-a-token");
  v1::ListOrdersResponse response;
  Call context;
  EXPECT_EQ(cart_.orders().ListOrders(&context, bad, &response).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

// A reflection client (grpcurl, buf curl) finds OrderService on the cart
// server and can describe it, with the inventory enums its messages use.
TEST_F(OrderE2eTest, ReflectionDescribesOrderService) {
  const shop::testing::Reflected reflected = shop::testing::AskReflection(
      grpc::CreateChannel(cart_.address(), grpc::InsecureChannelCredentials()),
      "cart.v1.ReturnItemsRequest");
  ASSERT_TRUE(reflected.answered);
  EXPECT_THAT(reflected.services, ::testing::Contains("cart.v1.OrderService"));
  EXPECT_THAT(reflected.services, ::testing::Contains("cart.v1.CartService"));
  EXPECT_EQ(reflected.describe_error, "");
  EXPECT_GE(reflected.files, 1);
}

}  // namespace
}  // namespace cart
