#include <string>

#include "common/errors/errors.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/inventory/api/inventory_service.h"

namespace inventory {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

void ExpectInvalid(const absl::Status& status, const std::string& field) {
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_THAT(status.message(), HasSubstr(field));
  EXPECT_EQ(shop::ErrorInfoOf(status)->metadata().at("field"), field);
}

// INVALID_ARGUMENT / INVALID_FIELD naming `field` and, in the message, the
// limit it broke.
void ExpectInvalid(const absl::Status& status, const std::string& field,
                   const std::string& limit) {
  SCOPED_TRACE(field + ": " + limit);
  ASSERT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_EQ(shop::ReasonOf(status), "INVALID_FIELD");
  EXPECT_THAT(std::string(status.message()), StartsWith(field + " "));
  EXPECT_THAT(status.message(), HasSubstr(limit));
  EXPECT_EQ(shop::ErrorInfoOf(status)->metadata().at("field"), field);
}

v1::ReserveStockRequest GoodReserve() {
  v1::ReserveStockRequest request;
  request.set_product_id("sneakers-1");
  request.set_quantity(1);
  request.set_reservation_id("r-1");
  return request;
}

// A well-formed request passes.
TEST(ValidationTest, AcceptsGoodRequests) {
  EXPECT_TRUE(Validate(GoodReserve()).ok());
  v1::AddProductRequest add;
  add.set_product_id("p");
  add.set_name("Sneakers – blue");
  EXPECT_TRUE(Validate(add).ok());
}

// Ids: required, at most 128 bytes, printable without spaces.
TEST(ValidationTest, RefusesBadIds) {
  v1::ReserveStockRequest request = GoodReserve();
  request.set_product_id("");
  ExpectInvalid(Validate(request), "product_id");
  request.set_product_id(std::string(10 * 1024, 'x'));
  ExpectInvalid(Validate(request), "product_id");
  request.set_product_id(std::string(128, 'x'));
  EXPECT_TRUE(Validate(request).ok());
  request.set_product_id("has space");
  ExpectInvalid(Validate(request), "product_id");
  request.set_product_id("tab\t");
  ExpectInvalid(Validate(request), "product_id");
  request = GoodReserve();
  request.set_reservation_id("");
  ExpectInvalid(Validate(request), "reservation_id");
}

// Quantities: 1..1,000,000; ttl 0..86,400; expected version not negative.
TEST(ValidationTest, RefusesOutOfRangeNumbers) {
  v1::ReserveStockRequest request = GoodReserve();
  for (int64_t bad : {int64_t{0}, int64_t{-1}, int64_t{1'000'001}}) {
    request.set_quantity(bad);
    ExpectInvalid(Validate(request), "quantity");
  }
  request = GoodReserve();
  request.set_ttl_seconds(86'401);
  ExpectInvalid(Validate(request), "ttl_seconds");
  request = GoodReserve();
  request.set_expected_version(-1);
  ExpectInvalid(Validate(request), "expected_version");

  v1::AddProductRequest add;
  add.set_product_id("p");
  add.set_name("n");
  add.set_price_cents(-5);
  ExpectInvalid(Validate(add), "price_cents");
  add.set_price_cents(0);
  add.set_name("");
  ExpectInvalid(Validate(add), "name");
  add.set_name("bad\xff");
  ExpectInvalid(Validate(add), "name");
}

v1::ReceiveStockRequest GoodReceive() {
  v1::ReceiveStockRequest request;
  request.set_product_id("sneakers-1");
  request.set_quantity(5);
  request.set_warehouse_id("east-1");
  request.set_receipt_id("rc-1");
  request.set_supplier("Acme");
  request.set_unit_cost_cents(1250);
  return request;
}

// A receipt's warehouse, receipt id, supplier, reference and unit cost.
TEST(ValidationTest, ReceiveStockFields) {
  EXPECT_TRUE(Validate(GoodReceive()).ok());
  v1::ReceiveStockRequest request = GoodReceive();
  request.set_warehouse_id("");  // main
  request.set_receipt_id("");    // not idempotent
  EXPECT_TRUE(Validate(request).ok());

  request = GoodReceive();
  request.set_warehouse_id(std::string(65, 'w'));
  ExpectInvalid(Validate(request), "warehouse_id", "1 to 64 bytes");
  request.set_warehouse_id("East");
  ExpectInvalid(Validate(request), "warehouse_id", "lower-case");
  request = GoodReceive();
  request.set_receipt_id(std::string(129, 'r'));
  ExpectInvalid(Validate(request), "receipt_id", "at most 128 bytes");
  request = GoodReceive();
  request.set_supplier(std::string(257, 's'));
  ExpectInvalid(Validate(request), "supplier", "0 to 256 bytes");
  request = GoodReceive();
  request.set_reference(std::string(257, 'p'));
  ExpectInvalid(Validate(request), "reference", "0 to 256 bytes");
  request = GoodReceive();
  request.set_unit_cost_cents(-1);
  ExpectInvalid(Validate(request), "unit_cost_cents", "0 and 1000000000");
  request.set_unit_cost_cents(1'000'000'001);
  ExpectInvalid(Validate(request), "unit_cost_cents", "0 and 1000000000");
  request = GoodReceive();
  request.set_quantity(0);
  ExpectInvalid(Validate(request), "quantity", "1 and 1000000");
}

// A reservation's optional warehouse, a partial release's quantity and id,
// a commit's order.
TEST(ValidationTest, ReservationFields) {
  v1::ReserveStockRequest reserve = GoodReserve();
  reserve.set_warehouse_id("west");
  EXPECT_TRUE(Validate(reserve).ok());
  reserve.set_warehouse_id("no spaces");
  ExpectInvalid(Validate(reserve), "warehouse_id", "lower-case");

  v1::ReleaseStockRequest release;
  release.set_product_id("p");
  release.set_reservation_id("r-1");
  EXPECT_TRUE(Validate(release).ok());
  release.set_quantity(0);
  ExpectInvalid(Validate(release), "quantity", "1 and 1000000");
  release.set_quantity(2);
  release.set_release_id("has space");
  ExpectInvalid(Validate(release), "release_id", "printable ASCII");

  v1::CommitReservationRequest commit;
  commit.set_product_id("p");
  commit.set_reservation_id("r-1");
  ExpectInvalid(Validate(commit), "order_id", "required");
  commit.set_order_id(std::string(129, 'o'));
  ExpectInvalid(Validate(commit), "order_id", "at most 128 bytes");
  commit.set_order_id("o-1");
  EXPECT_TRUE(Validate(commit).ok());
}

// A warehouse id is a slug of 1..64 bytes; a name 1..256 bytes; a page at
// most 1,000.
TEST(ValidationTest, WarehouseFields) {
  v1::AddWarehouseRequest add;
  add.set_warehouse_id("east_2");
  add.set_name("East depot");
  EXPECT_TRUE(Validate(add).ok());
  add.set_warehouse_id("");
  ExpectInvalid(Validate(add), "warehouse_id", "1 to 64 bytes");
  add.set_warehouse_id(std::string(65, 'e'));
  ExpectInvalid(Validate(add), "warehouse_id", "1 to 64 bytes");
  add.set_warehouse_id("East");
  ExpectInvalid(Validate(add), "warehouse_id", "lower-case");
  add.set_warehouse_id("east");
  add.set_name("");
  ExpectInvalid(Validate(add), "name", "1 to 256 bytes");
  add.set_name(std::string(257, 'n'));
  ExpectInvalid(Validate(add), "name", "1 to 256 bytes");

  v1::ListWarehousesRequest list;
  list.set_page_size(1001);
  ExpectInvalid(Validate(list), "page_size", "0 and 1000");
  list.set_page_size(-1);
  ExpectInvalid(Validate(list), "page_size", "0 and 1000");
  list.set_page_size(10);
  list.set_page_token("not a warehouse");
  ExpectInvalid(Validate(list), "page_token", "lower-case");
}

// A shipment's order, id and quantity; a cancellation's order and reason.
TEST(ValidationTest, ShipAndCancelFields) {
  v1::ShipStockRequest ship;
  ship.set_product_id("p");
  ship.set_order_id("o-1");
  ship.set_shipment_id("s-1");
  ship.set_quantity(1);
  EXPECT_TRUE(Validate(ship).ok());
  ship.set_shipment_id("");
  ExpectInvalid(Validate(ship), "shipment_id", "required");
  ship.set_shipment_id("s-1");
  ship.set_order_id("");
  ExpectInvalid(Validate(ship), "order_id", "required");
  ship.set_order_id("o-1");
  ship.set_quantity(1'000'001);
  ExpectInvalid(Validate(ship), "quantity", "1 and 1000000");
  ship.set_quantity(1);
  ship.set_expected_version(-1);
  ExpectInvalid(Validate(ship), "expected_version", "between 0 and");

  v1::CancelCommitmentRequest cancel;
  cancel.set_product_id("p");
  cancel.set_order_id("o-1");
  EXPECT_TRUE(Validate(cancel).ok());
  cancel.set_reason(std::string(257, 'r'));
  ExpectInvalid(Validate(cancel), "reason", "0 to 256 bytes");
  cancel.set_reason("bad\x01");
  ExpectInvalid(Validate(cancel), "reason", "control characters");
  cancel.set_reason("");
  cancel.set_order_id("tab\t");
  ExpectInvalid(Validate(cancel), "order_id", "printable ASCII");
}

v1::ReturnStockRequest GoodReturn() {
  v1::ReturnStockRequest request;
  request.set_product_id("p");
  request.set_order_id("o-1");
  request.set_return_id("ret-1");
  request.set_quantity(1);
  request.set_reason(v1::RETURN_REASON_WRONG_ITEM);
  request.set_condition(v1::RETURN_CONDITION_DAMAGED);
  return request;
}

// A return's id, warehouse, quantity, and enums that are set and known.
TEST(ValidationTest, ReturnFields) {
  EXPECT_TRUE(Validate(GoodReturn()).ok());
  v1::ReturnStockRequest request = GoodReturn();
  request.set_return_id("");
  ExpectInvalid(Validate(request), "return_id", "required");
  request = GoodReturn();
  request.set_warehouse_id("Main");
  ExpectInvalid(Validate(request), "warehouse_id", "lower-case");
  request = GoodReturn();
  request.set_quantity(0);
  ExpectInvalid(Validate(request), "quantity", "1 and 1000000");
  request = GoodReturn();
  request.set_reason(v1::RETURN_REASON_UNSPECIFIED);
  ExpectInvalid(Validate(request), "reason", "UNSPECIFIED");
  request.set_reason(static_cast<v1::ReturnReason>(9));
  ExpectInvalid(Validate(request), "reason", "no value 9");
  request = GoodReturn();
  request.set_condition(v1::RETURN_CONDITION_UNSPECIFIED);
  ExpectInvalid(Validate(request), "condition", "UNSPECIFIED");
  request.set_condition(static_cast<v1::ReturnCondition>(4));
  ExpectInvalid(Validate(request), "condition", "no value 4");
}

// A transfer's id and two different warehouses (empty is main); a
// transfer's arrival counts 0..1,000,000 units.
TEST(ValidationTest, TransferFields) {
  v1::TransferStockRequest transfer;
  transfer.set_product_id("p");
  transfer.set_transfer_id("t-1");
  transfer.set_to_warehouse_id("east");
  transfer.set_quantity(2);
  EXPECT_TRUE(Validate(transfer).ok());
  transfer.set_transfer_id("");
  ExpectInvalid(Validate(transfer), "transfer_id", "required");
  transfer.set_transfer_id("t-1");
  transfer.set_to_warehouse_id("main");
  ExpectInvalid(Validate(transfer), "to_warehouse_id",
                "must differ from from_warehouse_id");
  transfer.set_from_warehouse_id("east");
  transfer.set_to_warehouse_id("east");
  ExpectInvalid(Validate(transfer), "to_warehouse_id",
                "must differ from from_warehouse_id");
  transfer.set_from_warehouse_id("East");
  ExpectInvalid(Validate(transfer), "from_warehouse_id", "lower-case");
  transfer.set_from_warehouse_id("main");
  transfer.set_quantity(0);
  ExpectInvalid(Validate(transfer), "quantity", "1 and 1000000");

  v1::ReceiveTransferRequest arrival;
  arrival.set_product_id("p");
  arrival.set_transfer_id("t-1");
  arrival.set_quantity_received(0);  // all of it lost
  EXPECT_TRUE(Validate(arrival).ok());
  arrival.set_quantity_received(-1);
  ExpectInvalid(Validate(arrival), "quantity_received", "0 and 1000000");
  arrival.set_quantity_received(1'000'001);
  ExpectInvalid(Validate(arrival), "quantity_received", "0 and 1000000");
  arrival.set_quantity_received(1);
  arrival.set_transfer_id(std::string(129, 't'));
  ExpectInvalid(Validate(arrival), "transfer_id", "at most 128 bytes");
}

v1::AdjustStockRequest GoodAdjust() {
  v1::AdjustStockRequest request;
  request.set_product_id("p");
  request.set_adjustment_id("a-1");
  request.set_counted_quantity(0);
  request.set_reason(v1::ADJUSTMENT_REASON_PHYSICAL_COUNT);
  return request;
}

// An adjustment needs its id, a count (0..10^9) or a delta (±10^9), a
// reason that is set and known, short notes and a known bucket (unset is
// sellable).
TEST(ValidationTest, AdjustFields) {
  EXPECT_TRUE(Validate(GoodAdjust()).ok());
  v1::AdjustStockRequest request = GoodAdjust();
  request.clear_counted_quantity();
  ExpectInvalid(Validate(request), "counted_quantity", "or delta must be set");
  request.set_delta(-1'000'000'000);
  EXPECT_TRUE(Validate(request).ok());
  request.set_delta(-1'000'000'001);
  ExpectInvalid(Validate(request), "delta", "-1000000000 and 1000000000");
  request = GoodAdjust();
  request.set_counted_quantity(-1);
  ExpectInvalid(Validate(request), "counted_quantity", "0 and 1000000000");
  request = GoodAdjust();
  request.set_adjustment_id("");
  ExpectInvalid(Validate(request), "adjustment_id", "required");
  request = GoodAdjust();
  request.set_reason(v1::ADJUSTMENT_REASON_UNSPECIFIED);
  ExpectInvalid(Validate(request), "reason", "UNSPECIFIED");
  request.set_reason(static_cast<v1::AdjustmentReason>(6));
  ExpectInvalid(Validate(request), "reason", "no value 6");
  request = GoodAdjust();
  request.set_notes(std::string(1025, 'n'));
  ExpectInvalid(Validate(request), "notes", "0 to 1024 bytes");
  request = GoodAdjust();
  request.set_bucket(v1::STOCK_BUCKET_DAMAGED);
  EXPECT_TRUE(Validate(request).ok());
  request.set_bucket(static_cast<v1::StockBucket>(3));
  ExpectInvalid(Validate(request), "bucket", "no value 3");
  request = GoodAdjust();
  request.set_warehouse_id(std::string(65, 'w'));
  ExpectInvalid(Validate(request), "warehouse_id", "1 to 64 bytes");
}

}  // namespace
}  // namespace inventory
