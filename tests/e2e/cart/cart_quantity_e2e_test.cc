// A cart line's quantity and warehouse through both services over loopback
// gRPC against a real PostgreSQL: inventory's figures move by exactly the
// difference the cart asked for.
#include <chrono>
#include <memory>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/cart_harness.h"
#include "tests/support/inventory_harness.h"
#include "tests/support/status_matchers.h"

namespace cart {
namespace {

using ::shop::testing::CartHarness;
using ::shop::testing::InventoryHarness;
using ::shop::testing::StatusIs;
using ::shop::testing::TestSchema;

class CartQuantityE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    inventory::v1::AddProductRequest product;
    product.set_product_id("shoe");
    product.set_name("Shoe");
    product.set_price_cents(500);
    product.set_initial_quantity(10);
    inventory::v1::AddProductResponse added;
    grpc::ClientContext add_context;
    ASSERT_TRUE(
        inventory_.stub().AddProduct(&add_context, product, &added).ok());
    v1::CreateCartRequest create;
    create.set_cart_id("c");
    create.set_customer_id("alice");
    v1::CreateCartResponse created;
    grpc::ClientContext create_context;
    ASSERT_TRUE(
        cart_.stub().CreateCart(&create_context, create, &created).ok());
  }

  inventory::v1::GetStockResponse Stock() {
    inventory::v1::GetStockRequest request;
    request.set_product_id("shoe");
    inventory::v1::GetStockResponse response;
    grpc::ClientContext context;
    EXPECT_TRUE(inventory_.stub().GetStock(&context, request, &response).ok());
    return response;
  }
  const inventory::v1::WarehouseStock* At(
      const inventory::v1::GetStockResponse& stock, const std::string& id) {
    for (const inventory::v1::WarehouseStock& warehouse : stock.warehouses()) {
      if (warehouse.warehouse_id() == id) return &warehouse;
    }
    return nullptr;
  }

  grpc::Status AddItem(int64_t quantity, const std::string& warehouse_id = "") {
    v1::AddItemRequest request;
    request.set_cart_id("c");
    request.set_product_id("shoe");
    request.set_quantity(quantity);
    request.set_warehouse_id(warehouse_id);
    v1::AddItemResponse response;
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(30));
    return cart_.stub().AddItem(&context, request, &response);
  }
  grpc::Status Update(int64_t quantity, const std::string& request_id,
                      v1::UpdateItemQuantityResponse* response) {
    v1::UpdateItemQuantityRequest request;
    request.set_cart_id("c");
    request.set_product_id("shoe");
    request.set_quantity(quantity);
    request.set_request_id(request_id);
    grpc::ClientContext context;
    return cart_.stub().UpdateItemQuantity(&context, request, response);
  }

  TestSchema inventory_schema_{"quantity_inventory"};
  TestSchema cart_schema_{"quantity_cart"};
  InventoryHarness inventory_{inventory_schema_.name()};
  CartHarness cart_{cart_schema_.name(), inventory_.address()};
};

// Raising reserves the extra units, lowering gives back only the surplus,
// and checkout sells what the cart shows: no more, no less.
TEST_F(CartQuantityE2eTest, InventoryMovesByTheDifference) {
  ASSERT_TRUE(AddItem(2).ok());
  v1::UpdateItemQuantityResponse response;
  ASSERT_TRUE(Update(5, "up", &response).ok());
  EXPECT_EQ(response.item().quantity(), 5);
  EXPECT_EQ(Stock().reserved(), 5);
  // The same request again reserves nothing more.
  ASSERT_TRUE(Update(5, "up", &response).ok());
  EXPECT_EQ(Stock().reserved(), 5);

  ASSERT_TRUE(Update(1, "down", &response).ok());
  EXPECT_EQ(response.item().quantity(), 1);
  inventory::v1::GetStockResponse lowered = Stock();
  EXPECT_EQ(lowered.reserved(), 1);
  EXPECT_EQ(lowered.available(), 9);

  v1::CheckoutRequest checkout;
  checkout.set_cart_id("c");
  v1::CheckoutResponse checked_out;
  grpc::ClientContext context;
  ASSERT_TRUE(cart_.stub().Checkout(&context, checkout, &checked_out).ok());
  EXPECT_EQ(checked_out.total_cents(), 500);
  inventory::v1::GetStockResponse sold = Stock();
  EXPECT_EQ(sold.committed(), 1);
  EXPECT_EQ(sold.reserved(), 0);
  EXPECT_EQ(sold.available(), 9);
  EXPECT_EQ(sold.on_hand(), 10);
}

// Setting 0 removes the product and gives every unit back.
TEST_F(CartQuantityE2eTest, ZeroRemovesTheLine) {
  ASSERT_TRUE(AddItem(3).ok());
  v1::UpdateItemQuantityResponse response;
  ASSERT_TRUE(Update(0, "", &response).ok());
  EXPECT_FALSE(response.has_item());
  EXPECT_EQ(Stock().reserved(), 0);
  EXPECT_EQ(Stock().available(), 10);
}

// AddItem may name the warehouse to hold the units in; an unknown one is
// refused by inventory and the cart shows nothing.
TEST_F(CartQuantityE2eTest, AddItemReservesInTheNamedWarehouse) {
  inventory::v1::AddWarehouseRequest warehouse;
  warehouse.set_warehouse_id("east");
  warehouse.set_name("East");
  inventory::v1::AddWarehouseResponse added;
  grpc::ClientContext warehouse_context;
  ASSERT_TRUE(inventory_.stub()
                  .AddWarehouse(&warehouse_context, warehouse, &added)
                  .ok());
  inventory::v1::ReceiveStockRequest receive;
  receive.set_product_id("shoe");
  receive.set_warehouse_id("east");
  receive.set_quantity(3);
  inventory::v1::ReceiveStockResponse received;
  grpc::ClientContext receive_context;
  ASSERT_TRUE(inventory_.stub()
                  .ReceiveStock(&receive_context, receive, &received)
                  .ok());

  ASSERT_TRUE(AddItem(2, "east").ok());
  inventory::v1::GetStockResponse stock = Stock();
  ASSERT_NE(At(stock, "east"), nullptr);
  EXPECT_EQ(At(stock, "east")->reserved(), 2);
  ASSERT_NE(At(stock, "main"), nullptr);
  EXPECT_EQ(At(stock, "main")->reserved(), 0);

  EXPECT_THAT(AddItem(1, "west"),
              StatusIs(absl::StatusCode::kNotFound, "WAREHOUSE_NOT_FOUND"));
  v1::GetCartRequest get;
  get.set_cart_id("c");
  v1::GetCartResponse cart;
  grpc::ClientContext get_context;
  ASSERT_TRUE(cart_.stub().GetCart(&get_context, get, &cart).ok());
  ASSERT_EQ(cart.items_size(), 1);
  EXPECT_EQ(cart.items(0).quantity(), 2);
}

}  // namespace
}  // namespace cart
