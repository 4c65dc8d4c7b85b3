// Both services over loopback gRPC against a real PostgreSQL: the cart
// reserves in inventory before it records an item.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/eventstore/uuid.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "pqxx/pqxx"
#include "tests/support/cart_harness.h"
#include "tests/support/inventory_harness.h"
#include "tests/support/status_matchers.h"
#include "tests/support/tcp_proxy.h"

namespace cart {
namespace {

using ::shop::testing::CartHarness;
using ::shop::testing::InventoryHarness;
using ::shop::testing::ProxiedDatabase;
using ::shop::testing::ReasonOf;
using ::shop::testing::StatusIs;
using ::shop::testing::TestSchema;
using ::testing::HasSubstr;
using ::testing::SizeIs;

// Polls `condition` until it holds or `timeout` passes; says which.
bool WaitFor(const std::function<bool()>& condition,
             absl::Duration timeout = absl::Seconds(10)) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!condition()) {
    if (absl::Now() >= deadline) return false;
    absl::SleepFor(absl::Milliseconds(10));
  }
  return true;
}

class CartE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    inventory_ = std::make_unique<InventoryHarness>(inventory_schema_.name());
    cart_ = std::make_unique<CartHarness>(cart_schema_.name(),
                                          inventory_->address());
  }

  void AddProduct(const std::string& id, int64_t quantity,
                  int64_t price = 500) {
    inventory::v1::AddProductRequest request;
    request.set_product_id(id);
    request.set_name(id);
    request.set_price_cents(price);
    request.set_initial_quantity(quantity);
    inventory::v1::AddProductResponse response;
    grpc::ClientContext context;
    ASSERT_TRUE(
        inventory_->stub().AddProduct(&context, request, &response).ok());
  }

  inventory::v1::GetStockResponse Stock(const std::string& product) {
    inventory::v1::GetStockRequest request;
    request.set_product_id(product);
    inventory::v1::GetStockResponse response;
    grpc::ClientContext context;
    EXPECT_TRUE(inventory_->stub().GetStock(&context, request, &response).ok());
    return response;
  }

  // A cart server whose database connection (one) goes through a proxy,
  // and cart "c" holding `quantity` shoes: that AddItem prepared the append
  // statement, so a reply the proxy drops is the next append's.
  struct ProxiedCart {
    ProxiedCart(const std::string& schema, const std::string& inventory)
        : cart(schema, inventory, {}, absl::Seconds(5), database.dsn(),
               /*pool_size=*/1) {}
    ProxiedDatabase database;
    CartHarness cart;
  };
  std::unique_ptr<ProxiedCart> CartBehindProxy(int64_t quantity) {
    auto proxied = std::make_unique<ProxiedCart>(cart_schema_.name(),
                                                 inventory_->address());
    CreateCart(proxied->cart, "c");
    v1::AddItemResponse response;
    EXPECT_TRUE(AddItem(proxied->cart, "c", "shoe", quantity, &response).ok());
    return proxied;
  }
  std::string AppendStatement() const {
    return cart_schema_.name() + "_append_exact";
  }

  void CreateCart(CartHarness& harness, const std::string& id) {
    v1::CreateCartRequest request;
    request.set_cart_id(id);
    request.set_customer_id("alice");
    v1::CreateCartResponse response;
    grpc::ClientContext context;
    ASSERT_TRUE(harness.stub().CreateCart(&context, request, &response).ok());
  }
  void CreateCart(const std::string& id) { CreateCart(*cart_, id); }

  grpc::Status AddItem(CartHarness& harness, const std::string& cart,
                       const std::string& product, int64_t quantity,
                       v1::AddItemResponse* response,
                       const std::string& request_id = "") {
    v1::AddItemRequest request;
    request.set_cart_id(cart);
    request.set_product_id(product);
    request.set_quantity(quantity);
    request.set_request_id(request_id);
    grpc::ClientContext context;
    // A call stuck in a cart's queue fails the test instead of hanging it.
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(30));
    return harness.stub().AddItem(&context, request, response);
  }
  grpc::Status AddItem(const std::string& cart, const std::string& product,
                       int64_t quantity, const std::string& request_id = "") {
    v1::AddItemResponse response;
    return AddItem(*cart_, cart, product, quantity, &response, request_id);
  }

  grpc::Status RemoveItem(const std::string& cart, const std::string& product) {
    v1::RemoveItemRequest request;
    request.set_cart_id(cart);
    request.set_product_id(product);
    v1::RemoveItemResponse response;
    grpc::ClientContext context;
    return cart_->stub().RemoveItem(&context, request, &response);
  }

  grpc::Status Checkout(const std::string& cart,
                        v1::CheckoutResponse* response) {
    v1::CheckoutRequest request;
    request.set_cart_id(cart);
    grpc::ClientContext context;
    return cart_->stub().Checkout(&context, request, response);
  }

  v1::GetCartResponse GetCart(CartHarness& harness, const std::string& cart) {
    v1::GetCartRequest request;
    request.set_cart_id(cart);
    v1::GetCartResponse response;
    grpc::ClientContext context;
    grpc::Status status = harness.stub().GetCart(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response;
  }
  v1::GetCartResponse GetCart(const std::string& cart) {
    return GetCart(*cart_, cart);
  }

  std::vector<std::string> CartEventTypes(const std::string& cart) {
    v1::ListCartEventsRequest request;
    request.set_cart_id(cart);
    v1::ListCartEventsResponse response;
    grpc::ClientContext context;
    EXPECT_TRUE(
        cart_->stub().ListCartEvents(&context, request, &response).ok());
    std::vector<std::string> types;
    for (const auto& event : response.events()) types.push_back(event.type());
    return types;
  }

  int CountInventoryEvents(const std::string& product,
                           const std::string& type) {
    inventory::v1::ListProductEventsRequest request;
    request.set_product_id(product);
    request.set_max_count(1000);
    inventory::v1::ListProductEventsResponse response;
    grpc::ClientContext context;
    EXPECT_TRUE(inventory_->stub()
                    .ListProductEvents(&context, request, &response)
                    .ok());
    int count = 0;
    for (const auto& event : response.events()) count += event.type() == type;
    return count;
  }

  // `carts` carts race to add one unit each of a product with `units`.
  void RaceForUnits(int carts, int units) {
    AddProduct("hot", units);
    for (int i = 0; i < carts; ++i) CreateCart(absl::StrCat("c-", i));
    // Two cart replicas share the cart schema, as in a real deployment.
    CartHarness replica(cart_schema_.name(), inventory_->address());
    std::atomic<int> ok = 0, sold_out = 0;
    std::vector<std::thread> racers;
    for (int i = 0; i < carts; ++i) {
      racers.emplace_back([&, i] {
        v1::AddItemResponse response;
        grpc::Status status =
            AddItem(i % 2 ? replica : *cart_, absl::StrCat("c-", i), "hot", 1,
                    &response);
        if (status.ok()) {
          ++ok;
        } else if (status.error_code() ==
                       grpc::StatusCode::FAILED_PRECONDITION &&
                   ReasonOf(status) == "INSUFFICIENT_STOCK") {
          ++sold_out;
        } else {
          ADD_FAILURE() << status.error_code() << ": "
                        << status.error_message();
        }
      });
    }
    for (std::thread& racer : racers) racer.join();
    EXPECT_EQ(ok.load(), units);
    EXPECT_EQ(sold_out.load(), carts - units);

    inventory::v1::GetStockResponse stock = Stock("hot");
    EXPECT_EQ(stock.reserved(), units);
    EXPECT_EQ(stock.available(), 0);
    int holders = 0;
    for (int i = 0; i < carts; ++i) {
      v1::GetCartResponse cart = GetCart(absl::StrCat("c-", i));
      if (cart.items_size() == 0) {
        EXPECT_EQ(cart.version(), 1) << "a losing cart must not change";
        continue;
      }
      ++holders;
      ASSERT_THAT(cart.items(), SizeIs(1));
      EXPECT_EQ(cart.items(0).quantity(), 1);
    }
    EXPECT_EQ(holders, units);
  }

  TestSchema inventory_schema_{"e2e_inv"};
  TestSchema cart_schema_{"e2e_cart"};
  std::unique_ptr<InventoryHarness> inventory_;
  std::unique_ptr<CartHarness> cart_;
};

// 50 carts race for the last unit: exactly one gets it.
TEST_F(CartE2eTest, RaceForTheLastUnitHasOneWinner) { RaceForUnits(50, 1); }

// 100 carts race for 10 units: exactly 10 carts hold one each.
TEST_F(CartE2eTest, RaceForTenUnitsHasTenWinners) { RaceForUnits(100, 10); }

// Many AddItems on one cart at once, with a RemoveItem among them, take
// turns: each lands once, at its own version, and the cart and inventory
// agree at the end.
TEST_F(CartE2eTest, ConcurrentCallsOnOneCartTakeTurns) {
  constexpr int kAdds = 24;
  AddProduct("shoe", 100);
  AddProduct("sock", 5);
  CreateCart("c");
  ASSERT_TRUE(AddItem("c", "sock", 2).ok());
  std::vector<int64_t> versions(kAdds, 0);
  std::vector<std::thread> callers;
  for (int i = 0; i < kAdds; ++i) {
    callers.emplace_back([&, i] {
      v1::AddItemResponse response;
      grpc::Status status = AddItem(*cart_, "c", "shoe", 1, &response);
      EXPECT_TRUE(status.ok()) << status.error_message();
      versions[i] = response.version();
    });
  }
  callers.emplace_back([&] { EXPECT_TRUE(RemoveItem("c", "sock").ok()); });
  for (std::thread& caller : callers) caller.join();

  std::sort(versions.begin(), versions.end());
  EXPECT_EQ(std::adjacent_find(versions.begin(), versions.end()),
            versions.end());
  v1::GetCartResponse cart = GetCart("c");
  EXPECT_EQ(cart.version(), 3 + kAdds);
  ASSERT_THAT(cart.items(), SizeIs(1));
  EXPECT_EQ(cart.items(0).product_id(), "shoe");
  EXPECT_EQ(cart.items(0).quantity(), kAdds);
  EXPECT_THAT(cart.items(0).reservations(), SizeIs(kAdds));
  EXPECT_EQ(Stock("shoe").reserved(), kAdds);
  EXPECT_EQ(Stock("sock").reserved(), 0);
}

// The cart records the item with the price inventory answered with.
TEST_F(CartE2eTest, AddItemRecordsReservationAndPrice) {
  AddProduct("shoe", 5, 1999);
  CreateCart("c");
  v1::AddItemResponse response;
  ASSERT_TRUE(AddItem(*cart_, "c", "shoe", 2, &response).ok());
  EXPECT_EQ(response.version(), 2);
  EXPECT_EQ(response.item().quantity(), 2);
  EXPECT_EQ(response.item().unit_price_cents(), 1999);
  EXPECT_GT(response.reservation_expires_at().seconds(), 0);
  EXPECT_EQ(Stock("shoe").reserved(), 2);

  // Adding more of it raises the quantity under a second reservation.
  ASSERT_TRUE(AddItem("c", "shoe", 1).ok());
  v1::GetCartResponse cart = GetCart("c");
  ASSERT_THAT(cart.items(), SizeIs(1));
  EXPECT_EQ(cart.items(0).quantity(), 3);
  EXPECT_THAT(cart.items(0).reservations(), SizeIs(2));
  EXPECT_EQ(cart.total_cents(), 3 * 1999);
  EXPECT_EQ(Stock("shoe").reserved(), 3);
}

// A retried AddItem with the same request id reserves once.
TEST_F(CartE2eTest, RetriedAddItemReservesOnce) {
  AddProduct("shoe", 5);
  CreateCart("c");
  v1::AddItemResponse first, second;
  ASSERT_TRUE(AddItem(*cart_, "c", "shoe", 2, &first, "req-1").ok());
  ASSERT_TRUE(AddItem(*cart_, "c", "shoe", 2, &second, "req-1").ok());
  EXPECT_EQ(second.reservation_id(), first.reservation_id());
  EXPECT_EQ(second.version(), first.version());
  EXPECT_EQ(Stock("shoe").reserved(), 2);
  EXPECT_EQ(GetCart("c").items(0).quantity(), 2);
  EXPECT_EQ(CountInventoryEvents("shoe", "stock.reserved"), 1);
}

// Inventory's refusals come back with their meaning; nothing is appended.
TEST_F(CartE2eTest, InventoryRefusalsPassThroughAndAppendNothing) {
  AddProduct("shoe", 1);
  CreateCart("c");
  grpc::Status too_many = AddItem("c", "shoe", 2);
  EXPECT_THAT(too_many, StatusIs(absl::StatusCode::kFailedPrecondition,
                                 "INSUFFICIENT_STOCK"));
  EXPECT_THAT(too_many.error_message(), HasSubstr("requested 2, available 1"));
  grpc::Status unknown = AddItem("c", "ghost", 1);
  EXPECT_THAT(unknown,
              StatusIs(absl::StatusCode::kNotFound, "PRODUCT_NOT_FOUND"));
  EXPECT_EQ(AddItem("no-such-cart", "shoe", 1).error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(GetCart("c").version(), 1);
  EXPECT_EQ(Stock("shoe").reserved(), 0);
}

// With inventory gone, AddItem fails fast with UNAVAILABLE and the cart
// does not change.
TEST_F(CartE2eTest, InventoryDownIsUnavailableAndChangesNothing) {
  CreateCart("c");
  const std::string address = inventory_->address();
  inventory_.reset();  // the inventory server stops
  CartHarness cart(cart_schema_.name(), address, {}, absl::Seconds(2));
  const absl::Time start = absl::Now();
  v1::AddItemResponse response;
  grpc::Status status = AddItem(cart, "c", "shoe", 1, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_LT(absl::Now() - start, absl::Seconds(2) + absl::Milliseconds(500));
  EXPECT_EQ(GetCart(cart, "c").version(), 1);
}

// If the cart append keeps losing to concurrent changes after inventory
// reserved, the reservation is released: nothing stays held.
TEST_F(CartE2eTest, FailedAppendAfterReservationReleasesIt) {
  AddProduct("shoe", 3);
  CreateCart("c");
  eventstore::EventStore* cart_events = &cart_->events();
  CartsOptions options;
  options.before_add_append = [cart_events] {
    // Another writer changes the cart just before every append attempt.
    ASSERT_TRUE(
        cart_events
            ->Append("cart-c", eventstore::ExpectedVersion::Any(),
                     {{eventstore::NewUuid(), "item.removed",
                       R"({"productId":"none","reservationId":"none"})", "{}"}})
            .ok());
  };
  CartHarness contended(cart_schema_.name(), inventory_->address(), options);
  v1::AddItemResponse response;
  grpc::Status status = AddItem(contended, "c", "shoe", 2, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::ABORTED);
  inventory::v1::GetStockResponse stock = Stock("shoe");
  EXPECT_EQ(stock.reserved(), 0);
  EXPECT_EQ(stock.available(), 3);
  EXPECT_EQ(CountInventoryEvents("shoe", "stock.released"), 1);
  EXPECT_THAT(GetCart("c").items(), SizeIs(0));
}

// The cart's append commits but its answer is lost, and the cart cannot
// reload to learn how it ended: the reservation stays, so every unit the
// cart shows stays reserved in inventory.
TEST_F(CartE2eTest, UnconfirmedCartWriteKeepsItsReservation) {
  AddProduct("shoe", 5);
  std::unique_ptr<ProxiedCart> proxied = CartBehindProxy(1);
  proxied->database.proxy().DropReplyTo(AppendStatement(), /*then_cut=*/true);
  v1::AddItemResponse response;
  EXPECT_EQ(AddItem(proxied->cart, "c", "shoe", 2, &response).error_code(),
            grpc::StatusCode::UNAVAILABLE);
  proxied->database.proxy().Restore();

  const v1::GetCartResponse after = GetCart(proxied->cart, "c");
  int64_t in_cart = 0;
  for (const v1::CartItem& item : after.items()) in_cart += item.quantity();
  EXPECT_EQ(in_cart, 3);
  EXPECT_EQ(Stock("shoe").reserved(), 3);
}

// AddItem's append commits but its answer is lost: deciding again on a
// fresh load finds the line, so the call succeeds once, units kept.
TEST_F(CartE2eTest, AddItemWhoseAnswerIsLostFindsItsLine) {
  AddProduct("shoe", 5);
  std::unique_ptr<ProxiedCart> proxied = CartBehindProxy(1);
  proxied->database.proxy().DropReplyTo(AppendStatement());
  v1::AddItemResponse response;
  grpc::Status status = AddItem(proxied->cart, "c", "shoe", 2, &response);
  EXPECT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.item().quantity(), 3);
  EXPECT_EQ(Stock("shoe").reserved(), 3);
}

// RemoveItem's append commits but its answer is lost: a fresh load shows
// the product gone, so the call succeeds and the units are released.
TEST_F(CartE2eTest, RemovalWhoseAnswerIsLostStillReleases) {
  AddProduct("shoe", 5);
  std::unique_ptr<ProxiedCart> proxied = CartBehindProxy(2);
  proxied->database.proxy().DropReplyTo(AppendStatement());
  v1::RemoveItemRequest request;
  request.set_cart_id("c");
  request.set_product_id("shoe");
  v1::RemoveItemResponse removed;
  grpc::ClientContext context;
  grpc::Status status =
      proxied->cart.stub().RemoveItem(&context, request, &removed);
  EXPECT_TRUE(status.ok()) << status.error_message();
  EXPECT_THAT(GetCart(proxied->cart, "c").items(), SizeIs(0));
  EXPECT_EQ(Stock("shoe").reserved(), 0);
}

// Inventory's work waits behind a lock past the cart's deadline, which the
// cart passes on: once the lock goes, inventory drops the reservation
// instead of writing it for a cart that gave up (the cart's release of a
// reservation whose answer was lost is CartsTest's).
TEST_F(CartE2eTest, TimedOutReservationIsNotWrittenAfterTheDeadline) {
  AddProduct("shoe", 5);
  CreateCart("c");
  CartHarness cart(cart_schema_.name(), inventory_->address(), {},
                   absl::Milliseconds(300));
  // Inventory's writes wait behind this lock; the cart's release queues
  // behind the reservation on the product.
  pqxx::connection blocker(shop::testing::TestDsn());
  pqxx::work lock(blocker);
  lock.exec("LOCK TABLE " + inventory_schema_.name() +
            ".events IN ACCESS EXCLUSIVE MODE");
  v1::AddItemResponse response;
  EXPECT_THAT(AddItem(cart, "c", "shoe", 2, &response),
              StatusIs(absl::StatusCode::kUnavailable));
  // The reservation is still in flight, waiting on the lock, when the cart
  // gives up.
  pqxx::connection watcher(shop::testing::TestDsn());
  EXPECT_TRUE(WaitFor([&] {
    pqxx::nontransaction read(watcher);
    return read.exec(
                   "SELECT count(*) FROM pg_locks l JOIN pg_class c ON "
                   "c.oid = l.relation WHERE NOT l.granted AND "
                   "c.relname = 'events' AND c.relnamespace = " +
                   read.quote(inventory_schema_.name()) + "::regnamespace")
               .at(0)
               .at(0)
               .as<int>() > 0;
  }));
  lock.commit();

  // The product's next write runs behind the cart's release (a no-op now).
  // It goes through the suite's cart, whose deadline on inventory is not
  // 300 ms: on a busy machine that would be this call's failure.
  EXPECT_THAT(AddItem(*cart_, "c", "shoe", 1, &response),
              StatusIs(absl::StatusCode::kOk));
  EXPECT_EQ(CountInventoryEvents("shoe", "stock.reserved"), 1);
  EXPECT_EQ(Stock("shoe").reserved(), 1);
  EXPECT_THAT(GetCart(*cart_, "c").items(), SizeIs(1));
}

// Remove releases; re-add reserves again; checkout sells once; a checked
// out cart refuses changes; an empty cart cannot check out.
TEST_F(CartE2eTest, RemoveReaddCheckoutLifecycle) {
  AddProduct("shoe", 3, 1000);
  AddProduct("sock", 10, 200);
  CreateCart("c");
  v1::CheckoutResponse checkout;
  grpc::Status empty = Checkout("c", &checkout);
  EXPECT_THAT(empty,
              StatusIs(absl::StatusCode::kFailedPrecondition, "CART_EMPTY"));

  ASSERT_TRUE(AddItem("c", "shoe", 2).ok());
  ASSERT_TRUE(RemoveItem("c", "shoe").ok());
  EXPECT_EQ(Stock("shoe").available(), 3);
  grpc::Status missing = RemoveItem("c", "shoe");
  EXPECT_THAT(missing, StatusIs(absl::StatusCode::kNotFound, "ITEM_NOT_FOUND"));

  ASSERT_TRUE(AddItem("c", "shoe", 1).ok());
  ASSERT_TRUE(AddItem("c", "sock", 4).ok());
  ASSERT_TRUE(Checkout("c", &checkout).ok());
  EXPECT_EQ(checkout.order_id(), "order-c");
  EXPECT_EQ(checkout.total_cents(), 1000 + 4 * 200);
  inventory::v1::GetStockResponse shoe = Stock("shoe");
  // Sold units stay on hand, committed to the order, until they ship.
  EXPECT_EQ(shoe.on_hand(), 3);
  EXPECT_EQ(shoe.committed(), 1);
  EXPECT_EQ(shoe.available(), 2);
  EXPECT_EQ(shoe.reserved(), 0);
  EXPECT_EQ(Stock("sock").committed(), 4);
  EXPECT_EQ(Stock("sock").available(), 6);

  v1::CheckoutResponse again;
  ASSERT_TRUE(Checkout("c", &again).ok());
  EXPECT_EQ(again.order_id(), checkout.order_id());
  EXPECT_EQ(again.version(), checkout.version());
  EXPECT_EQ(CountInventoryEvents("shoe", "stock.committed"), 1);
  EXPECT_EQ(CountInventoryEvents("sock", "stock.committed"), 1);

  grpc::Status add_after = AddItem("c", "sock", 1);
  EXPECT_THAT(add_after, StatusIs(absl::StatusCode::kFailedPrecondition,
                                  "CART_CHECKED_OUT"));
  EXPECT_EQ(RemoveItem("c", "sock").error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(Stock("sock").reserved(), 0);

  EXPECT_EQ(CartEventTypes("c"),
            (std::vector<std::string>{
                "cart.created", "item.added", "item.removed", "item.added",
                "item.added", "checkout.started", "cart.checked_out"}));
  v1::GetCartResponse cart = GetCart("c");
  EXPECT_TRUE(cart.checked_out());
  EXPECT_EQ(cart.order_id(), "order-c");
}

// A checkout that stops part-way (inventory too slow for one line) leaves
// the cart frozen: the units already sold stay in it, AddItem and
// RemoveItem are refused (the refused AddItem's units go back), and a
// retried Checkout finishes the order with every line.
TEST_F(CartE2eTest, InterruptedCheckoutKeepsTheCartFrozenUntilFinished) {
  AddProduct("shoe", 1);
  AddProduct("hat", 1);
  AddProduct("sock", 5);
  CreateCart("c");
  ASSERT_TRUE(AddItem("c", "shoe", 1).ok());
  ASSERT_TRUE(AddItem("c", "hat", 1).ok());
  // Inventory holds the hat's commit back: its product's row is locked.
  pqxx::connection blocker(shop::testing::TestDsn());
  pqxx::work lock(blocker);
  lock.exec("SELECT 1 FROM " + inventory_schema_.name() +
            ".streams WHERE stream_id = 'product-hat' FOR UPDATE");
  CartHarness impatient(cart_schema_.name(), inventory_->address(), {},
                        absl::Milliseconds(500));
  v1::CheckoutRequest request;
  request.set_cart_id("c");
  v1::CheckoutResponse checkout;
  grpc::ClientContext context;
  EXPECT_EQ(
      impatient.stub().Checkout(&context, request, &checkout).error_code(),
      grpc::StatusCode::UNAVAILABLE);
  lock.commit();
  // The lines are committed concurrently: the shoe's sale either landed or
  // shared the hat's held-back statement, which inventory cancelled at the
  // cart's deadline. Reserved or sold, its unit is not for sale.
  EXPECT_EQ(Stock("shoe").available(), 0);

  grpc::Status add = AddItem("c", "sock", 1);
  EXPECT_THAT(add, StatusIs(absl::StatusCode::kFailedPrecondition,
                            "CHECKOUT_IN_PROGRESS"));
  EXPECT_EQ(Stock("sock").reserved(), 0);
  grpc::Status remove = RemoveItem("c", "shoe");
  EXPECT_THAT(remove, StatusIs(absl::StatusCode::kFailedPrecondition,
                               "CHECKOUT_IN_PROGRESS"));
  v1::GetCartResponse frozen = GetCart("c");
  EXPECT_TRUE(frozen.checkout_in_progress());
  EXPECT_THAT(frozen.items(), SizeIs(2));

  ASSERT_TRUE(Checkout("c", &checkout).ok());
  EXPECT_EQ(checkout.total_cents(), 1000);
  v1::GetCartResponse done = GetCart("c");
  EXPECT_TRUE(done.checked_out());
  EXPECT_FALSE(done.checkout_in_progress());
  EXPECT_THAT(done.items(), SizeIs(2));
  EXPECT_EQ(Stock("hat").committed(), 1);
  EXPECT_EQ(CountInventoryEvents("hat", "stock.committed"), 1);
  EXPECT_EQ(Stock("shoe").committed(), 1);
  EXPECT_EQ(CountInventoryEvents("shoe", "stock.committed"), 1);
}

// A reservation that expired before checkout cannot be sold.
TEST_F(CartE2eTest, CheckoutRefusesExpiredReservation) {
  AddProduct("shoe", 1);
  CreateCart("c");
  ASSERT_TRUE(AddItem("c", "shoe", 1).ok());
  inventory_->clock().Advance(absl::Hours(1));
  ASSERT_TRUE(inventory_->app().ExpireDue(100).ok());
  v1::CheckoutResponse checkout;
  grpc::Status status = Checkout("c", &checkout);
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kFailedPrecondition,
                               "RESERVATION_EXPIRED"));
  v1::GetCartResponse cart = GetCart("c");
  EXPECT_FALSE(cart.checked_out());
  EXPECT_FALSE(cart.checkout_in_progress());
  EXPECT_EQ(Stock("shoe").available(), 1);
  // The checkout stopped, so the dead line can go.
  EXPECT_TRUE(RemoveItem("c", "shoe").ok());
}

// A line inventory refuses to sell stops the checkout after the lines
// before it were sold: those stay in the cart and cannot be removed, the
// refused one can, and the next checkout completes the order with the rest.
TEST_F(CartE2eTest, StoppedCheckoutKeepsSoldLinesForTheOrder) {
  AddProduct("shoe", 1, 700);
  AddProduct("hat", 1, 300);
  CreateCart("c");
  ASSERT_TRUE(AddItem("c", "shoe", 1).ok());
  ASSERT_TRUE(AddItem("c", "hat", 1).ok());
  inventory::v1::ReleaseStockRequest release;
  release.set_product_id("hat");
  release.set_reservation_id(GetCart("c").items(1).reservation_id());
  inventory::v1::ReleaseStockResponse released;
  grpc::ClientContext release_context;
  ASSERT_TRUE(inventory_->stub()
                  .ReleaseStock(&release_context, release, &released)
                  .ok());

  v1::CheckoutResponse checkout;
  grpc::Status stopped = Checkout("c", &checkout);
  EXPECT_THAT(stopped, StatusIs(absl::StatusCode::kFailedPrecondition,
                                "RESERVATION_RELEASED"));
  EXPECT_EQ(Stock("shoe").committed(), 1);  // sold
  const v1::GetCartResponse after_stop = GetCart("c");
  EXPECT_TRUE(after_stop.items(0).reservations(0).sold());
  EXPECT_FALSE(after_stop.items(1).reservations(0).sold());
  grpc::Status keep = RemoveItem("c", "shoe");
  EXPECT_THAT(keep,
              StatusIs(absl::StatusCode::kFailedPrecondition, "ITEM_SOLD"));
  EXPECT_TRUE(RemoveItem("c", "hat").ok());

  ASSERT_TRUE(Checkout("c", &checkout).ok());
  EXPECT_EQ(checkout.total_cents(), 700);
  EXPECT_EQ(CountInventoryEvents("shoe", "stock.committed"), 1);
  EXPECT_EQ(Stock("shoe").committed(), 1);
  EXPECT_EQ(Stock("hat").committed(), 0);
  EXPECT_EQ(Stock("hat").on_hand(), 1);
  EXPECT_EQ(Stock("hat").available(), 1);
  EXPECT_EQ(CartEventTypes("c"),
            (std::vector<std::string>{"cart.created", "item.added",
                                      "item.added", "checkout.started",
                                      "checkout.stopped", "item.removed",
                                      "checkout.started", "cart.checked_out"}));
}

// A cart replica's cached cart never answers for what another replica
// changed, and never leaves a reservation behind because of it.
TEST_F(CartE2eTest, ReplicaCachesNeverServeStaleAnswers) {
  AddProduct("shoe", 5);
  CreateCart("c");
  CartHarness replica(cart_schema_.name(), inventory_->address());
  v1::AddItemResponse response;
  ASSERT_TRUE(AddItem(*cart_, "c", "shoe", 1, &response, "req-1").ok());

  v1::RemoveItemRequest remove;
  remove.set_cart_id("c");
  remove.set_product_id("shoe");
  v1::RemoveItemResponse removed;
  grpc::ClientContext remove_context;
  ASSERT_TRUE(
      replica.stub().RemoveItem(&remove_context, remove, &removed).ok());
  // The first replica's cache still shows the line added by req-1.
  grpc::Status retried = AddItem(*cart_, "c", "shoe", 1, &response, "req-1");
  EXPECT_THAT(retried, StatusIs(absl::StatusCode::kFailedPrecondition,
                                "RESERVATION_RELEASED"));
  EXPECT_THAT(GetCart("c").items(), SizeIs(0));

  ASSERT_TRUE(AddItem(*cart_, "c", "shoe", 2, &response).ok());
  v1::CheckoutRequest checkout;
  checkout.set_cart_id("c");
  v1::CheckoutResponse checked_out;
  grpc::ClientContext checkout_context;
  ASSERT_TRUE(
      replica.stub().Checkout(&checkout_context, checkout, &checked_out).ok());
  // Here the cache still shows an open cart.
  grpc::Status late = AddItem(*cart_, "c", "shoe", 1, &response);
  EXPECT_THAT(late, StatusIs(absl::StatusCode::kFailedPrecondition,
                             "CART_CHECKED_OUT"));
  inventory::v1::GetStockResponse stock = Stock("shoe");
  EXPECT_EQ(stock.reserved(), 0);
  EXPECT_EQ(stock.committed(), 2);
  EXPECT_EQ(stock.available(), 3);
}

// Bad input is INVALID_ARGUMENT and touches neither service.
TEST_F(CartE2eTest, InvalidInputTouchesNothing) {
  AddProduct("shoe", 1);
  CreateCart("c");
  EXPECT_EQ(AddItem("c", "shoe", 0).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(AddItem("c", "shoe", -1).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(AddItem("c", std::string(10 * 1024, 's'), 1).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(AddItem("", "shoe", 1).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(AddItem("c", "shoe", 1, "bad id").error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(GetCart("c").version(), 1);
  EXPECT_EQ(Stock("shoe").version(), 1);
}

// A stale expected_version is ABORTED before anything is reserved.
TEST_F(CartE2eTest, StaleExpectedVersionReservesNothing) {
  AddProduct("shoe", 1);
  CreateCart("c");
  v1::AddItemRequest request;
  request.set_cart_id("c");
  request.set_product_id("shoe");
  request.set_quantity(1);
  request.set_expected_version(5);
  v1::AddItemResponse response;
  grpc::ClientContext context;
  grpc::Status status = cart_->stub().AddItem(&context, request, &response);
  EXPECT_THAT(status,
              StatusIs(absl::StatusCode::kAborted, "WRONG_EXPECTED_VERSION"));
  EXPECT_EQ(Stock("shoe").version(), 1);
}

}  // namespace
}  // namespace cart
