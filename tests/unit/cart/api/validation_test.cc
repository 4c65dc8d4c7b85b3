#include <cstdint>
#include <string>

#include "common/errors/errors.h"
#include "common/eventstore/position_token.h"
#include "common/server/history.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/cart/api/cart_service.h"
#include "tests/support/status_matchers.h"

namespace cart {
namespace {

using ::shop::testing::ExpectInvalidField;
using ::shop::testing::StatusIs;
using ::testing::HasSubstr;

v1::AddItemRequest GoodAdd() {
  v1::AddItemRequest request;
  request.set_cart_id("c-1");
  request.set_product_id("sneakers-1");
  request.set_quantity(1);
  return request;
}

// Well-formed requests pass, optional fields left out.
TEST(CartValidationTest, AcceptsGoodRequests) {
  EXPECT_TRUE(Validate(GoodAdd()).ok());
  v1::CreateCartRequest create;
  create.set_cart_id("c-1");
  create.set_customer_id("alice");
  EXPECT_TRUE(Validate(create).ok());
  v1::RemoveItemRequest remove;
  remove.set_cart_id("c-1");
  remove.set_product_id("p");
  EXPECT_TRUE(Validate(remove).ok());
  v1::GetCartRequest get;
  get.set_cart_id("c-1");
  EXPECT_TRUE(Validate(get).ok());
  v1::ListCartEventsRequest list;
  list.set_cart_id("c-1");
  EXPECT_TRUE(Validate(list).ok());
  v1::CheckoutRequest checkout;
  checkout.set_cart_id("c-1");
  EXPECT_TRUE(Validate(checkout).ok());
}

// CreateCart: both ids required, at most 128 bytes, no spaces.
TEST(CartValidationTest, CreateCartChecksEveryId) {
  for (const std::string field : {"cart_id", "customer_id"}) {
    v1::CreateCartRequest request;
    request.set_cart_id("c-1");
    request.set_customer_id("alice");
    auto set = [&](const std::string& value) {
      field == "cart_id" ? request.set_cart_id(value)
                         : request.set_customer_id(value);
    };
    set("");
    ExpectInvalidField(Validate(request), field);
    set(std::string(129, 'x'));
    ExpectInvalidField(Validate(request), field, "128");
    set("has space");
    ExpectInvalidField(Validate(request), field);
    set(std::string(128, 'x'));
    EXPECT_TRUE(Validate(request).ok());
  }
}

// AddItem: ids, quantity 1..1,000,000, an optional request id, and an
// expected version that is not negative.
TEST(CartValidationTest, AddItemChecksEveryField) {
  v1::AddItemRequest request = GoodAdd();
  request.set_cart_id("");
  ExpectInvalidField(Validate(request), "cart_id");
  request = GoodAdd();
  request.set_product_id(std::string(129, 'x'));
  ExpectInvalidField(Validate(request), "product_id", "128");
  request = GoodAdd();
  for (int64_t bad : {int64_t{0}, int64_t{-1}, int64_t{1'000'001}}) {
    request.set_quantity(bad);
    ExpectInvalidField(Validate(request), "quantity", "1000000");
  }
  request = GoodAdd();
  request.set_request_id(std::string(129, 'x'));
  ExpectInvalidField(Validate(request), "request_id", "128");
  request.set_request_id("req-1");
  EXPECT_TRUE(Validate(request).ok());
  request.set_expected_version(-1);
  ExpectInvalidField(Validate(request), "expected_version");
}

// RemoveItem and Checkout: ids and expected version.
TEST(CartValidationTest, RemoveItemAndCheckoutCheckEveryField) {
  v1::RemoveItemRequest remove;
  remove.set_cart_id("c-1");
  ExpectInvalidField(Validate(remove), "product_id");
  remove.set_product_id("p");
  remove.set_expected_version(-1);
  ExpectInvalidField(Validate(remove), "expected_version");
  v1::CheckoutRequest checkout;
  ExpectInvalidField(Validate(checkout), "cart_id");
  checkout.set_cart_id("c-1");
  checkout.set_expected_version(-1);
  ExpectInvalidField(Validate(checkout), "expected_version");
}

// GetCart and ListCartEvents: the id, and the page within its bounds.
TEST(CartValidationTest, ReadsCheckEveryField) {
  v1::GetCartRequest get;
  get.set_cart_id("has space");
  ExpectInvalidField(Validate(get), "cart_id");
  v1::ListCartEventsRequest list;
  list.set_cart_id("c-1");
  list.set_from_version(-1);
  ExpectInvalidField(Validate(list), "from_version");
  list.set_from_version(0);
  list.set_max_count(shop::kMaxHistoryPage + 1);
  ExpectInvalidField(Validate(list), "max_count",
                     std::to_string(shop::kMaxHistoryPage));
  list.set_max_count(-1);
  ExpectInvalidField(Validate(list), "max_count");
}

// AddItem's warehouse is optional; when given, inventory's id rules hold.
TEST(CartValidationTest, AddItemChecksTheWarehouse) {
  v1::AddItemRequest request = GoodAdd();
  request.set_warehouse_id("east-1");
  EXPECT_TRUE(Validate(request).ok());
  request.set_warehouse_id("East");
  ExpectInvalidField(Validate(request), "warehouse_id");
  request.set_warehouse_id(std::string(65, 'a'));
  ExpectInvalidField(Validate(request), "warehouse_id", "64");
}

// UpdateItemQuantity: 0 removes, negatives and more than a million do not.
TEST(CartValidationTest, UpdateItemQuantityChecksEveryField) {
  v1::UpdateItemQuantityRequest request;
  request.set_cart_id("c-1");
  request.set_product_id("p");
  request.set_quantity(0);
  EXPECT_TRUE(Validate(request).ok());
  request.set_quantity(-1);
  ExpectInvalidField(Validate(request), "quantity");
  request.set_quantity(1'000'001);
  ExpectInvalidField(Validate(request), "quantity", "1000000");
  request.set_quantity(2);
  request.set_request_id(std::string(129, 'r'));
  ExpectInvalidField(Validate(request), "request_id", "128");
  request.set_request_id("");
  request.set_cart_id("");
  ExpectInvalidField(Validate(request), "cart_id");
  request.set_cart_id("c-1");
  request.set_product_id("");
  ExpectInvalidField(Validate(request), "product_id");
  request.set_product_id("p");
  request.set_expected_version(-1);
  ExpectInvalidField(Validate(request), "expected_version");
}

// ListEventsByCorrelation: the id, the page size and only tokens the
// service gave.
TEST(CartValidationTest, CorrelationReadChecksEveryField) {
  v1::ListEventsByCorrelationRequest request;
  ExpectInvalidField(Validate(request), "correlation_id");
  request.set_correlation_id("order-1");
  EXPECT_TRUE(Validate(request).ok());
  request.set_page_size(shop::kMaxHistoryPage + 1);
  ExpectInvalidField(Validate(request), "page_size",
                     std::to_string(shop::kMaxHistoryPage));
  request.set_page_size(0);
  request.set_page_token("forged");
  ExpectInvalidField(Validate(request), "page_token");
  request.set_page_token(eventstore::EncodePositionToken({7, 3}));
  EXPECT_TRUE(Validate(request).ok());
}

}  // namespace
}  // namespace cart
