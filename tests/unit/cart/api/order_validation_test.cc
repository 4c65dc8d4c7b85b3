// OrderService requests: every field checked before anything is read or
// written, each error naming its field and limit.
#include <string>

#include "common/errors/errors.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/cart/api/order_service.h"
#include "tests/support/status_matchers.h"

namespace cart {
namespace {

using ::shop::testing::ExpectInvalidField;
using ::shop::testing::StatusIs;
using ::testing::HasSubstr;

v1::ReturnItemsRequest GoodReturn() {
  v1::ReturnItemsRequest request;
  request.set_order_id("order-c-1");
  request.set_return_id("ret-1");
  v1::ReturnedLine* line = request.add_lines();
  line->set_product_id("boot");
  line->set_quantity(1);
  line->set_condition(inventory::v1::RETURN_CONDITION_RESELLABLE);
  return request;
}

TEST(OrderValidationTest, AcceptsGoodRequests) {
  v1::GetOrderRequest get;
  get.set_order_id("order-c-1");
  EXPECT_TRUE(Validate(get).ok());
  // The order of a cart id at the id limit is still an order id.
  get.set_order_id("order-" + std::string(128, 'c'));
  EXPECT_TRUE(Validate(get).ok());
  v1::ShipOrderRequest ship;
  ship.set_order_id("order-c-1");
  ship.set_shipment_id("s-1");
  EXPECT_TRUE(Validate(ship).ok());
  v1::CancelOrderRequest cancel;
  cancel.set_order_id("order-c-1");
  EXPECT_TRUE(Validate(cancel).ok());
  v1::ListOrdersRequest list;
  list.set_customer_id("alice");
  EXPECT_TRUE(Validate(list).ok());
  EXPECT_TRUE(Validate(GoodReturn()).ok());
}

TEST(OrderValidationTest, NamesTheFieldAndTheLimit) {
  v1::GetOrderRequest get;
  ExpectInvalidField(Validate(get), "order_id");
  get.set_order_id(std::string(200, 'o'));
  ExpectInvalidField(Validate(get), "order_id", "134");

  v1::ShipOrderRequest ship;
  ship.set_order_id("order-c-1");
  ExpectInvalidField(Validate(ship), "shipment_id", "required");
  ship.set_shipment_id("s 1");
  ExpectInvalidField(Validate(ship), "shipment_id", "spaces");
  ship.set_shipment_id("s-1");
  ship.set_expected_version(-1);
  ExpectInvalidField(Validate(ship), "expected_version");

  v1::CancelOrderRequest cancel;
  cancel.set_order_id("order-c-1");
  cancel.set_reason(std::string(257, 'r'));
  ExpectInvalidField(Validate(cancel), "reason", "256");

  v1::ListOrdersRequest list;
  list.set_customer_id("alice");
  list.set_page_size(101);
  ExpectInvalidField(Validate(list), "page_size", "100");
  list.set_page_size(0);
  list.set_status(static_cast<v1::OrderStatus>(99));
  ExpectInvalidField(Validate(list), "status");

  v1::ReturnItemsRequest no_lines = GoodReturn();
  no_lines.clear_lines();
  ExpectInvalidField(Validate(no_lines), "lines", "1");
  v1::ReturnItemsRequest zero = GoodReturn();
  zero.mutable_lines(0)->set_quantity(0);
  ExpectInvalidField(Validate(zero), "lines[0].quantity");
  v1::ReturnItemsRequest no_condition = GoodReturn();
  no_condition.mutable_lines(0)->set_condition(
      inventory::v1::RETURN_CONDITION_UNSPECIFIED);
  ExpectInvalidField(Validate(no_condition), "lines[0].condition");
  v1::ReturnItemsRequest bad_warehouse = GoodReturn();
  bad_warehouse.mutable_lines(0)->set_warehouse_id(std::string(65, 'w'));
  ExpectInvalidField(Validate(bad_warehouse), "lines[0].warehouse_id", "64");
}

}  // namespace
}  // namespace cart
