#include <string>

#include "common/errors/errors.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/inventory/api/inventory_service.h"

namespace inventory {
namespace {

using ::testing::HasSubstr;

void ExpectInvalid(const absl::Status& status, const std::string& field) {
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_THAT(status.message(), HasSubstr(field));
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

}  // namespace
}  // namespace inventory
