// Owns the field checks of the inventory's write requests: every field,
// before anything is written, each failure naming the field and the limit.
#include "common/server/validation.h"

#include <limits>

#include "services/inventory/api/inventory_service.h"

namespace inventory {
namespace {

constexpr int64_t kMaxPriceCents = 1'000'000'000;
constexpr int64_t kMaxTtlSeconds = 86'400;
constexpr size_t kMaxWarehouseIdBytes = 64;
constexpr size_t kMaxTextBytes = 256;
constexpr size_t kMaxNotesBytes = 1024;
// A count or a correction larger than any warehouse holds is a typo.
constexpr int64_t kMaxCount = 1'000'000'000;

absl::Status ValidateWarehouse(absl::string_view field,
                               const std::string& value) {
  if (value.empty()) return absl::OkStatus();  // main
  return shop::ValidateSlug(field, value, kMaxWarehouseIdBytes);
}

}  // namespace

absl::Status Validate(const v1::AddProductRequest& request) {
  return shop::FirstError(
      {shop::ValidateId("product_id", request.product_id()),
       shop::ValidateText("name", request.name(), 1, kMaxTextBytes),
       shop::ValidateRange("price_cents", request.price_cents(), 0,
                           kMaxPriceCents),
       shop::ValidateRange("initial_quantity", request.initial_quantity(), 0,
                           shop::kMaxQuantity),
       shop::ValidateExpectedVersion(request)});
}

absl::Status Validate(const v1::ReceiveStockRequest& request) {
  return shop::FirstError(
      {shop::ValidateId("product_id", request.product_id()),
       shop::ValidateQuantity("quantity", request.quantity()),
       shop::ValidateText("reference", request.reference(), 0, kMaxTextBytes),
       ValidateWarehouse("warehouse_id", request.warehouse_id()),
       shop::ValidateOptionalId("receipt_id", request.receipt_id()),
       shop::ValidateText("supplier", request.supplier(), 0, kMaxTextBytes),
       shop::ValidateRange("unit_cost_cents", request.unit_cost_cents(), 0,
                           kMaxPriceCents),
       shop::ValidateExpectedVersion(request)});
}

absl::Status Validate(const v1::ReserveStockRequest& request) {
  return shop::FirstError(
      {shop::ValidateId("product_id", request.product_id()),
       shop::ValidateQuantity("quantity", request.quantity()),
       shop::ValidateId("reservation_id", request.reservation_id()),
       shop::ValidateRange("ttl_seconds", request.ttl_seconds(), 0,
                           kMaxTtlSeconds),
       ValidateWarehouse("warehouse_id", request.warehouse_id()),
       shop::ValidateExpectedVersion(request)});
}

absl::Status Validate(const v1::ReleaseStockRequest& request) {
  return shop::FirstError(
      {shop::ValidateId("product_id", request.product_id()),
       shop::ValidateId("reservation_id", request.reservation_id()),
       request.has_quantity()
           ? shop::ValidateQuantity("quantity", request.quantity())
           : absl::OkStatus(),
       shop::ValidateOptionalId("release_id", request.release_id()),
       shop::ValidateExpectedVersion(request)});
}

absl::Status Validate(const v1::CommitReservationRequest& request) {
  return shop::FirstError(
      {shop::ValidateId("product_id", request.product_id()),
       shop::ValidateId("reservation_id", request.reservation_id()),
       shop::ValidateId("order_id", request.order_id()),
       shop::ValidateExpectedVersion(request)});
}

absl::Status Validate(const v1::AddWarehouseRequest& request) {
  return shop::FirstError(
      {shop::ValidateSlug("warehouse_id", request.warehouse_id(),
                          kMaxWarehouseIdBytes),
       shop::ValidateText("name", request.name(), 1, kMaxTextBytes)});
}

absl::Status Validate(const v1::ListWarehousesRequest& request) {
  return shop::FirstError(
      {shop::ValidateRange("page_size", request.page_size(), 0, 1000),
       request.page_token().empty()
           ? absl::OkStatus()
           : shop::ValidateSlug("page_token", request.page_token(),
                                kMaxWarehouseIdBytes)});
}

absl::Status Validate(const v1::ShipStockRequest& request) {
  return shop::FirstError(
      {shop::ValidateId("product_id", request.product_id()),
       shop::ValidateId("order_id", request.order_id()),
       shop::ValidateId("shipment_id", request.shipment_id()),
       shop::ValidateQuantity("quantity", request.quantity()),
       shop::ValidateExpectedVersion(request)});
}

absl::Status Validate(const v1::CancelCommitmentRequest& request) {
  return shop::FirstError(
      {shop::ValidateId("product_id", request.product_id()),
       shop::ValidateId("order_id", request.order_id()),
       shop::ValidateText("reason", request.reason(), 0, kMaxTextBytes),
       shop::ValidateExpectedVersion(request)});
}

absl::Status Validate(const v1::ReturnStockRequest& request) {
  return shop::FirstError(
      {shop::ValidateId("product_id", request.product_id()),
       shop::ValidateId("order_id", request.order_id()),
       shop::ValidateId("return_id", request.return_id()),
       ValidateWarehouse("warehouse_id", request.warehouse_id()),
       shop::ValidateQuantity("quantity", request.quantity()),
       shop::ValidateEnum("reason", request.reason(),
                          v1::ReturnReason_IsValid(request.reason())),
       shop::ValidateEnum("condition", request.condition(),
                          v1::ReturnCondition_IsValid(request.condition())),
       shop::ValidateExpectedVersion(request)});
}

absl::Status Validate(const v1::TransferStockRequest& request) {
  absl::Status distinct = absl::OkStatus();
  if (request.from_warehouse_id() == request.to_warehouse_id() ||
      (request.from_warehouse_id().empty() &&
       request.to_warehouse_id() == "main") ||
      (request.to_warehouse_id().empty() &&
       request.from_warehouse_id() == "main")) {
    distinct = shop::InvalidField("to_warehouse_id",
                                  "must differ from from_warehouse_id");
  }
  return shop::FirstError(
      {shop::ValidateId("product_id", request.product_id()),
       shop::ValidateId("transfer_id", request.transfer_id()),
       ValidateWarehouse("from_warehouse_id", request.from_warehouse_id()),
       ValidateWarehouse("to_warehouse_id", request.to_warehouse_id()),
       shop::ValidateQuantity("quantity", request.quantity()), distinct,
       shop::ValidateExpectedVersion(request)});
}

absl::Status Validate(const v1::ReceiveTransferRequest& request) {
  return shop::FirstError(
      {shop::ValidateId("product_id", request.product_id()),
       shop::ValidateId("transfer_id", request.transfer_id()),
       shop::ValidateRange("quantity_received", request.quantity_received(), 0,
                           shop::kMaxQuantity),
       shop::ValidateExpectedVersion(request)});
}

absl::Status Validate(const v1::AdjustStockRequest& request) {
  absl::Status change = absl::OkStatus();
  switch (request.change_case()) {
    case v1::AdjustStockRequest::kCountedQuantity:
      change = shop::ValidateRange("counted_quantity",
                                   request.counted_quantity(), 0, kMaxCount);
      break;
    case v1::AdjustStockRequest::kDelta:
      change =
          shop::ValidateRange("delta", request.delta(), -kMaxCount, kMaxCount);
      break;
    case v1::AdjustStockRequest::CHANGE_NOT_SET:
      change = shop::InvalidField("counted_quantity", "or delta must be set");
      break;
  }
  return shop::FirstError(
      {shop::ValidateId("product_id", request.product_id()),
       shop::ValidateId("adjustment_id", request.adjustment_id()),
       ValidateWarehouse("warehouse_id", request.warehouse_id()), change,
       shop::ValidateEnum("reason", request.reason(),
                          v1::AdjustmentReason_IsValid(request.reason())),
       shop::ValidateText("notes", request.notes(), 0, kMaxNotesBytes),
       shop::ValidateEnum("bucket", request.bucket(),
                          v1::StockBucket_IsValid(request.bucket()),
                          /*unspecified_allowed=*/true),
       shop::ValidateExpectedVersion(request)});
}

}  // namespace inventory
