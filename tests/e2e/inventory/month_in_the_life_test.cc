// A month in the life of a shop, compressed: three warehouses, two dozen
// products, and concurrent callers doing every movement there is, through
// both services over loopback gRPC on a real PostgreSQL. At the end an
// auditor's fold of each product's history alone must give every figure
// inventory answers, and must have seen no broken promise on the way.
#include <chrono>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/util/proto_time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/e2e/inventory/stock_fold.h"
#include "tests/support/cart_harness.h"
#include "tests/support/inventory_harness.h"

namespace inventory {
namespace {

using ::shop::testing::CartHarness;
using ::shop::testing::Figures;
using ::shop::testing::InventoryHarness;
using ::shop::testing::StockFold;
using ::shop::testing::TestSchema;

constexpr int kProducts = 24;
constexpr int kCallers = 6;
constexpr int kStepsPerCaller = 250;
const char* const kWarehouses[] = {"main", "east", "west"};

std::string ProductId(int i) { return absl::StrCat("p-", i); }

// The figures a stock answer (GetStock or GetStockAsOf) gives, in total and
// per warehouse.
template <typename Answer>
std::pair<Figures, std::map<std::string, Figures>> Served(const Answer& a) {
  std::map<std::string, Figures> warehouses;
  for (const v1::WarehouseStock& at : a.warehouses()) {
    warehouses[at.warehouse_id()] = {
        at.on_hand(),  at.reserved(), at.committed(), at.available(),
        at.incoming(), at.damaged(),  at.shortfall()};
  }
  return {{a.on_hand(), a.reserved(), a.committed(), a.available(),
           a.incoming(), a.damaged(), a.shortfall()},
          warehouses};
}

// What GetStock answered at an instant of the run.
struct Sample {
  std::string product_id;
  absl::Time at;
  v1::GetStockResponse stock;
};

// What the callers learned from inventory's answers, to aim later moves.
struct Ledger {
  struct OrderLine {
    std::string order_id;
    std::string product_id;
    int64_t committed = 0;
    int64_t shipped = 0;
    int64_t returned = 0;
    bool cancelled = false;
  };
  struct Transfer {
    std::string product_id;
    std::string transfer_id;
    int64_t quantity = 0;
  };
  absl::Mutex mu;
  std::vector<OrderLine> lines ABSL_GUARDED_BY(mu);
  std::vector<Transfer> transfers ABSL_GUARDED_BY(mu);
};

class MonthInTheLifeTest : public ::testing::Test {
 protected:
  template <typename Call>
  grpc::Status Inventory(Call call) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(30));
    return call(inventory_.stub(), &context);
  }
  template <typename Call>
  grpc::Status Cart(Call call) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(30));
    return call(cart_.stub(), &context);
  }

  v1::GetStockResponse Stock(const std::string& product_id) {
    v1::GetStockRequest request;
    request.set_product_id(product_id);
    v1::GetStockResponse response;
    EXPECT_TRUE(Inventory([&](auto& stub, auto* context) {
                  return stub.GetStock(context, request, &response);
                }).ok());
    return response;
  }

  // Refusals and lost races are part of the life; anything else is a bug.
  void Expect(const grpc::Status& status, const std::string& what) {
    const grpc::StatusCode code = status.error_code();
    EXPECT_TRUE(code == grpc::StatusCode::OK ||
                code == grpc::StatusCode::FAILED_PRECONDITION ||
                code == grpc::StatusCode::ABORTED)
        << what << ": " << code << " " << status.error_message();
  }

  void Step(std::mt19937& random, int caller, int step);
  void Purchase(std::mt19937& random, const std::string& cart_id);

  // Written by caller 0 only, read after the callers are joined.
  std::vector<Sample> samples_;
  TestSchema inventory_schema_{"month_inventory"};
  TestSchema cart_schema_{"month_cart"};
  InventoryHarness inventory_{inventory_schema_.name()};
  CartHarness cart_{cart_schema_.name(), inventory_.address()};
  Ledger ledger_;
};

void MonthInTheLifeTest::Purchase(std::mt19937& random,
                                  const std::string& cart_id) {
  cart::v1::CreateCartRequest create;
  create.set_cart_id(cart_id);
  create.set_customer_id("shopper");
  cart::v1::CreateCartResponse created;
  Expect(Cart([&](auto& stub, auto* context) {
           return stub.CreateCart(context, create, &created);
         }),
         "CreateCart");
  std::vector<std::pair<std::string, int64_t>> wanted;
  const int items = 1 + random() % 2;
  for (int i = 0; i < items; ++i) {
    cart::v1::AddItemRequest add;
    add.set_cart_id(cart_id);
    add.set_product_id(ProductId(random() % kProducts));
    add.set_quantity(1 + random() % 3);
    if (random() % 3 == 0) add.set_warehouse_id(kWarehouses[random() % 3]);
    add.set_request_id(absl::StrCat(cart_id, "-add-", i));
    cart::v1::AddItemResponse added;
    Expect(Cart([&](auto& stub, auto* context) {
             return stub.AddItem(context, add, &added);
           }),
           "AddItem");
  }
  if (random() % 4 == 0) {
    cart::v1::GetCartRequest get;
    get.set_cart_id(cart_id);
    cart::v1::GetCartResponse cart;
    if (Cart([&](auto& stub, auto* context) {
          return stub.GetCart(context, get, &cart);
        }).ok() &&
        cart.items_size() > 0) {
      cart::v1::UpdateItemQuantityRequest update;
      update.set_cart_id(cart_id);
      update.set_product_id(cart.items(0).product_id());
      update.set_quantity(random() % 4);
      update.set_request_id(absl::StrCat(cart_id, "-update"));
      cart::v1::UpdateItemQuantityResponse updated;
      Expect(Cart([&](auto& stub, auto* context) {
               return stub.UpdateItemQuantity(context, update, &updated);
             }),
             "UpdateItemQuantity");
    }
  }
  if (random() % 5 == 0) return;  // an abandoned cart keeps its reservations
  cart::v1::CheckoutRequest checkout;
  checkout.set_cart_id(cart_id);
  cart::v1::CheckoutResponse checked_out;
  grpc::Status status = Cart([&](auto& stub, auto* context) {
    return stub.Checkout(context, checkout, &checked_out);
  });
  Expect(status, "Checkout");
  if (!status.ok()) return;
  cart::v1::GetCartRequest get;
  get.set_cart_id(cart_id);
  cart::v1::GetCartResponse cart;
  ASSERT_TRUE(Cart([&](auto& stub, auto* context) {
                return stub.GetCart(context, get, &cart);
              }).ok());
  absl::MutexLock lock(&ledger_.mu);
  for (const cart::v1::CartItem& item : cart.items()) {
    ledger_.lines.push_back(
        {checked_out.order_id(), item.product_id(), item.quantity()});
  }
}

void MonthInTheLifeTest::Step(std::mt19937& random, int caller, int step) {
  if (caller == 0 && step % 25 == 12) {
    const std::string sampled = ProductId(step / 25 % kProducts);
    v1::GetStockResponse stock = Stock(sampled);
    samples_.push_back({sampled, absl::Now(), std::move(stock)});
  }
  const std::string id = absl::StrCat("c", caller, "-s", step);
  const std::string product = ProductId(random() % kProducts);
  const int where = random() % 3;
  const std::string warehouse = kWarehouses[where];
  const int dice = random() % 100;
  if (dice < 25) return Purchase(random, id);
  if (dice < 40) {
    v1::ReceiveStockRequest request;
    request.set_product_id(product);
    request.set_warehouse_id(warehouse);
    request.set_quantity(1 + random() % 10);
    request.set_receipt_id(id);
    v1::ReceiveStockResponse response;
    return Expect(Inventory([&](auto& stub, auto* context) {
                    return stub.ReceiveStock(context, request, &response);
                  }),
                  "ReceiveStock");
  }
  if (dice < 70) {
    // Ship, cancel or return a line of an order placed earlier.
    Ledger::OrderLine line;
    size_t index = 0;
    {
      absl::MutexLock lock(&ledger_.mu);
      if (ledger_.lines.empty()) return;
      index = random() % ledger_.lines.size();
      line = ledger_.lines[index];
    }
    grpc::Status status;
    if (dice < 55 && !line.cancelled && line.shipped < line.committed) {
      v1::ShipStockRequest request;
      request.set_product_id(line.product_id);
      request.set_order_id(line.order_id);
      request.set_shipment_id(id);
      request.set_quantity(line.committed - line.shipped);
      v1::ShipStockResponse response;
      status = Inventory([&](auto& stub, auto* context) {
        return stub.ShipStock(context, request, &response);
      });
      Expect(status, "ShipStock");
      if (status.ok()) {
        absl::MutexLock lock(&ledger_.mu);
        ledger_.lines[index].shipped += response.shipped_quantity();
      }
    } else if (dice < 60 && !line.cancelled && line.shipped == 0) {
      v1::CancelCommitmentRequest request;
      request.set_product_id(line.product_id);
      request.set_order_id(line.order_id);
      request.set_reason("customer cancelled");
      v1::CancelCommitmentResponse response;
      status = Inventory([&](auto& stub, auto* context) {
        return stub.CancelCommitment(context, request, &response);
      });
      Expect(status, "CancelCommitment");
      if (status.ok()) {
        absl::MutexLock lock(&ledger_.mu);
        ledger_.lines[index].cancelled = true;
      }
    } else if (line.shipped > 0) {
      // Sometimes more than is left to return: inventory must refuse it.
      v1::ReturnStockRequest request;
      request.set_product_id(line.product_id);
      request.set_order_id(line.order_id);
      request.set_return_id(id);
      request.set_warehouse_id(warehouse);
      request.set_quantity(1 + random() % line.shipped);
      request.set_reason(v1::RETURN_REASON_DEFECTIVE);
      request.set_condition(static_cast<v1::ReturnCondition>(1 + random() % 3));
      v1::ReturnStockResponse response;
      Expect(Inventory([&](auto& stub, auto* context) {
               return stub.ReturnStock(context, request, &response);
             }),
             "ReturnStock");
    }
    return;
  }
  if (dice < 80) {
    v1::TransferStockRequest request;
    request.set_product_id(product);
    request.set_transfer_id(id);
    request.set_from_warehouse_id(warehouse);
    request.set_to_warehouse_id(kWarehouses[(where + 1 + random() % 2) % 3]);
    request.set_quantity(1 + random() % 4);
    v1::TransferStockResponse response;
    grpc::Status status = Inventory([&](auto& stub, auto* context) {
      return stub.TransferStock(context, request, &response);
    });
    Expect(status, "TransferStock");
    if (status.ok()) {
      absl::MutexLock lock(&ledger_.mu);
      ledger_.transfers.push_back({product, id, request.quantity()});
    }
    return;
  }
  if (dice < 90) {
    Ledger::Transfer transfer;
    {
      absl::MutexLock lock(&ledger_.mu);
      if (ledger_.transfers.empty()) return;
      const size_t index = random() % ledger_.transfers.size();
      transfer = ledger_.transfers[index];
      ledger_.transfers.erase(ledger_.transfers.begin() + index);
    }
    v1::ReceiveTransferRequest request;
    request.set_product_id(transfer.product_id);
    request.set_transfer_id(transfer.transfer_id);
    // Now and then a unit is lost on the way.
    request.set_quantity_received(transfer.quantity - random() % 2);
    v1::ReceiveTransferResponse response;
    return Expect(Inventory([&](auto& stub, auto* context) {
                    return stub.ReceiveTransfer(context, request, &response);
                  }),
                  "ReceiveTransfer");
  }
  // A count that finds a unit or two fewer (or more) than expected.
  v1::AdjustStockRequest request;
  request.set_product_id(product);
  request.set_adjustment_id(id);
  request.set_warehouse_id(warehouse);
  request.set_reason(v1::ADJUSTMENT_REASON_PHYSICAL_COUNT);
  if (random() % 2 == 0) {
    int64_t on_hand = 0;
    const v1::GetStockResponse now = Stock(product);
    for (const v1::WarehouseStock& stock : now.warehouses()) {
      if (stock.warehouse_id() == warehouse) on_hand = stock.on_hand();
    }
    request.set_counted_quantity(
        std::max<int64_t>(0, on_hand - static_cast<int64_t>(random() % 3)));
  } else {
    request.set_delta(static_cast<int64_t>(random() % 5) - 2);
  }
  v1::AdjustStockResponse response;
  Expect(Inventory([&](auto& stub, auto* context) {
           return stub.AdjustStock(context, request, &response);
         }),
         "AdjustStock");
}

TEST_F(MonthInTheLifeTest, AnAuditorsFoldGivesEveryFigure) {
  for (const char* warehouse : {"east", "west"}) {
    v1::AddWarehouseRequest request;
    request.set_warehouse_id(warehouse);
    request.set_name(warehouse);
    v1::AddWarehouseResponse response;
    ASSERT_TRUE(Inventory([&](auto& stub, auto* context) {
                  return stub.AddWarehouse(context, request, &response);
                }).ok());
  }
  std::mt19937 seed_random(20261203);
  for (int i = 0; i < kProducts; ++i) {
    v1::AddProductRequest request;
    request.set_product_id(ProductId(i));
    request.set_name(ProductId(i));
    request.set_price_cents(100 + i);
    request.set_initial_quantity(seed_random() % 20);
    v1::AddProductResponse response;
    ASSERT_TRUE(Inventory([&](auto& stub, auto* context) {
                  return stub.AddProduct(context, request, &response);
                }).ok());
  }

  std::vector<std::thread> callers;
  for (int caller = 0; caller < kCallers; ++caller) {
    callers.emplace_back([this, caller] {
      std::mt19937 random(1000 + caller);
      for (int step = 0; step < kStepsPerCaller; ++step) {
        Step(random, caller, step);
      }
    });
  }
  for (std::thread& caller : callers) caller.join();

  std::map<std::string, int> types;
  std::map<std::string, std::vector<v1::RecordedEvent>> histories;
  std::map<std::string, std::map<std::string, Figures>> folds;
  for (int i = 0; i < kProducts; ++i) {
    const std::string product = ProductId(i);
    StockFold fold;
    int64_t from = 1;
    for (;;) {
      v1::ListProductEventsRequest request;
      request.set_product_id(product);
      request.set_from_version(from);
      request.set_max_count(500);
      v1::ListProductEventsResponse page;
      ASSERT_TRUE(Inventory([&](auto& stub, auto* context) {
                    return stub.ListProductEvents(context, request, &page);
                  }).ok());
      for (const v1::RecordedEvent& event : page.events()) {
        ASSERT_TRUE(fold.Apply(event).ok()) << fold.Apply(event);
        ++types[event.type()];
        histories[product].push_back(event);
      }
      if (page.next_from_version() == 0 || page.events().empty()) break;
      from = page.next_from_version();
    }
    EXPECT_THAT(fold.violations(), ::testing::IsEmpty()) << product;

    const v1::GetStockResponse stock = Stock(product);
    const Figures total = fold.Totals();
    EXPECT_EQ(stock.on_hand(), total.on_hand) << product;
    EXPECT_EQ(stock.reserved(), total.reserved) << product;
    EXPECT_EQ(stock.committed(), total.committed) << product;
    EXPECT_EQ(stock.available(), total.available) << product;
    EXPECT_EQ(stock.incoming(), total.incoming) << product;
    EXPECT_EQ(stock.damaged(), total.damaged) << product;
    EXPECT_EQ(stock.shortfall(), total.shortfall) << product;
    const std::map<std::string, Figures> folded = fold.Warehouses();
    folds[product] = folded;
    for (const v1::WarehouseStock& at : stock.warehouses()) {
      const Figures served{at.on_hand(),   at.reserved(), at.committed(),
                           at.available(), at.incoming(), at.damaged(),
                           at.shortfall()};
      auto it = folded.find(at.warehouse_id());
      const Figures expected = it == folded.end() ? Figures{} : it->second;
      EXPECT_EQ(served, expected) << product << " at " << at.warehouse_id();
    }
  }
  // The read model stock_levels, once it has applied all of it, holds the
  // same figures, one row per product and warehouse (paged small, so that
  // pages meet inside a product's warehouses).
  ASSERT_TRUE(inventory_.reports().projection().AwaitApplied(
      shop::testing::LastCommittedPosition(inventory_schema_.name()),
      absl::Seconds(30)));
  std::map<std::string, std::map<std::string, Figures>> listed;
  v1::ListStockRequest list;
  list.set_page_size(7);
  int rows = 0;
  do {
    v1::ListStockResponse page;
    ASSERT_TRUE(Inventory([&](auto& stub, auto* context) {
                  return stub.ListStock(context, list, &page);
                }).ok());
    for (const v1::StockLevel& level : page.levels()) {
      const v1::WarehouseStock& at = level.stock();
      listed[level.product_id()][at.warehouse_id()] = {
          at.on_hand(),  at.reserved(), at.committed(), at.available(),
          at.incoming(), at.damaged(),  at.shortfall()};
      ++rows;
    }
    list.set_page_token(page.next_page_token());
  } while (!list.page_token().empty());
  EXPECT_EQ(listed.size(), static_cast<size_t>(kProducts));
  EXPECT_EQ(rows, [&] {
    int n = 0;
    for (const auto& [product, at] : listed) n += static_cast<int>(at.size());
    return n;
  }()) << "a row listed twice";
  for (const auto& [product, folded] : folds) {
    std::set<std::string> warehouses;
    for (const auto& [id, figures] : folded) warehouses.insert(id);
    for (const auto& [id, figures] : listed[product]) warehouses.insert(id);
    for (const std::string& id : warehouses) {
      auto in_fold = folded.find(id);
      auto in_rows = listed[product].find(id);
      EXPECT_EQ(in_rows == listed[product].end() ? Figures{} : in_rows->second,
                in_fold == folded.end() ? Figures{} : in_fold->second)
          << "stock_levels of " << product << " at " << id;
    }
  }

  // GetStockAsOf at each sampled instant is the history up to its version,
  // and what GetStock answered then unless a write was recorded at that
  // very moment (its version is then later).
  ASSERT_EQ(samples_.size(), 10u);
  int same_as_answered = 0;
  for (const Sample& sample : samples_) {
    v1::GetStockAsOfRequest request;
    request.set_product_id(sample.product_id);
    *request.mutable_as_of() = shop::ToProto(sample.at);
    v1::GetStockAsOfResponse then;
    ASSERT_TRUE(Inventory([&](auto& stub, auto* context) {
                  return stub.GetStockAsOf(context, request, &then);
                }).ok());
    ASSERT_GE(then.version(), sample.stock.version()) << sample.product_id;
    StockFold upto;
    for (const v1::RecordedEvent& event : histories[sample.product_id]) {
      if (event.version() > then.version()) break;
      ASSERT_TRUE(upto.Apply(event).ok());
    }
    const auto [total, warehouses] = Served(then);
    EXPECT_EQ(total, upto.Totals()) << sample.product_id;
    for (const auto& [id, figures] : warehouses) {
      const std::map<std::string, Figures> folded = upto.Warehouses();
      auto it = folded.find(id);
      EXPECT_EQ(figures, it == folded.end() ? Figures{} : it->second)
          << sample.product_id << " at " << id;
    }
    if (then.version() == sample.stock.version()) {
      ++same_as_answered;
      EXPECT_EQ(Served(then), Served(sample.stock)) << sample.product_id;
    }
  }
  EXPECT_GE(same_as_answered, 8);
  RecordProperty("as_of_same_as_answered", same_as_answered);

  // Every movement happened, so the comparison covers every rule.
  for (const char* type :
       {"stock.received", "stock.reserved", "stock.released", "stock.committed",
        "stock.shipped", "commitment.cancelled", "stock.returned",
        "transfer.dispatched", "transfer.received", "stock.adjusted"}) {
    EXPECT_GT(types[type], 0) << type;
    RecordProperty(type, types[type]);
  }
}

}  // namespace
}  // namespace inventory
