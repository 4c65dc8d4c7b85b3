// What a caller sends is bounded before anything runs: identity headers
// that reach events like ids, and whole requests at 256 KiB.
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/cart_harness.h"
#include "tests/support/inventory_harness.h"

namespace {

using ::shop::testing::CartHarness;
using ::shop::testing::InventoryHarness;
using ::shop::testing::TestSchema;
using ::testing::HasSubstr;

TEST(CallHeadersTest, OversizedIdentityHeadersWriteNothing) {
  TestSchema inventory_schema("headers_inventory");
  TestSchema cart_schema("headers_cart");
  InventoryHarness inventory(inventory_schema.name());
  CartHarness cart(cart_schema.name(), inventory.address());

  inventory::v1::AddProductRequest product;
  product.set_product_id("p");
  product.set_name("P");
  inventory::v1::AddProductResponse added;
  {
    grpc::ClientContext context;
    context.AddMetadata("x-request-id", std::string(7000, 'r'));
    grpc::Status status =
        inventory.stub().AddProduct(&context, product, &added);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(status.error_message(),
                HasSubstr("x-request-id must be at most 128 bytes, got 7000"));
  }
  inventory::v1::GetStockRequest get;
  get.set_product_id("p");
  inventory::v1::GetStockResponse stock;
  {
    grpc::ClientContext context;
    EXPECT_EQ(inventory.stub().GetStock(&context, get, &stock).error_code(),
              grpc::StatusCode::NOT_FOUND);
  }
  {
    // At the limit it is fine.
    grpc::ClientContext context;
    context.AddMetadata("x-correlation-id", std::string(128, 'c'));
    context.AddMetadata("x-caused-by", std::string(256, 'u'));
    EXPECT_TRUE(inventory.stub().AddProduct(&context, product, &added).ok());
  }

  cart::v1::CreateCartRequest create;
  create.set_cart_id("c");
  create.set_customer_id("alice");
  cart::v1::CreateCartResponse created;
  {
    grpc::ClientContext context;
    context.AddMetadata("x-caused-by", std::string(257, 'u'));
    grpc::Status status = cart.stub().CreateCart(&context, create, &created);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(status.error_message(), HasSubstr("x-caused-by"));
  }
  cart::v1::GetCartRequest get_cart;
  get_cart.set_cart_id("c");
  cart::v1::GetCartResponse cart_response;
  grpc::ClientContext context;
  EXPECT_EQ(
      cart.stub().GetCart(&context, get_cart, &cart_response).error_code(),
      grpc::StatusCode::NOT_FOUND);
}

// A request above the limit is RESOURCE_EXHAUSTED and writes nothing; the
// largest a valid request gets is well within it.
TEST(RequestBoundsTest, RequestsAboveTheLimitAreRefused) {
  TestSchema schema("bounds_inventory");
  InventoryHarness inventory(schema.name());
  inventory::v1::AddProductRequest product;
  product.set_product_id("p");
  product.set_name(std::string(300 << 10, 'n'));
  inventory::v1::AddProductResponse added;
  grpc::ClientContext context;
  EXPECT_EQ(inventory.stub().AddProduct(&context, product, &added).error_code(),
            grpc::StatusCode::RESOURCE_EXHAUSTED);
  inventory::v1::GetStockRequest get;
  get.set_product_id("p");
  inventory::v1::GetStockResponse stock;
  grpc::ClientContext get_context;
  EXPECT_EQ(inventory.stub().GetStock(&get_context, get, &stock).error_code(),
            grpc::StatusCode::NOT_FOUND);

  // Many filters of the longest kind: refused by validation, not by size.
  inventory::v1::ListProductEventsRequest largest;
  largest.set_product_id("p");
  for (int i = 0; i < 1000; ++i) largest.add_types(std::string(128, 't'));
  ASSERT_LT(largest.ByteSizeLong(), 256u << 10);
  inventory::v1::ListProductEventsResponse events;
  grpc::ClientContext list_context;
  EXPECT_NE(inventory.stub()
                .ListProductEvents(&list_context, largest, &events)
                .error_code(),
            grpc::StatusCode::RESOURCE_EXHAUSTED);
}

}  // namespace
