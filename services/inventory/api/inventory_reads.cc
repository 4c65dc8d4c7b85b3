// Owns the handlers of the inventory's reads: figures and history.
#include <algorithm>
#include <limits>

#include "common/rpc/status_mapping.h"
#include "common/server/history.h"
#include "common/server/validation.h"
#include "services/inventory/api/inventory_service.h"
#include "services/inventory/api/stock_response.h"

namespace inventory {

absl::Status Validate(const v1::GetStockRequest& request) {
  return shop::ValidateId("product_id", request.product_id());
}

absl::Status Validate(const v1::ListProductEventsRequest& request) {
  return shop::FirstError(
      {shop::ValidateId("product_id", request.product_id()),
       shop::ValidateRange("from_version", request.from_version(), 0,
                           std::numeric_limits<int64_t>::max()),
       shop::ValidateRange("max_count", request.max_count(), 0,
                           shop::kMaxHistoryPage)});
}

grpc::Status InventoryServiceImpl::GetStock(grpc::ServerContext* /*context*/,
                                            const v1::GetStockRequest* request,
                                            v1::GetStockResponse* response) {
  if (absl::Status valid = Validate(*request); !valid.ok()) {
    return shop::ToGrpcStatus(valid);
  }
  absl::StatusOr<LoadedProduct> loaded =
      inventory_->GetStock(request->product_id());
  if (!loaded.ok()) return shop::ToGrpcStatus(loaded.status());
  FillStock(request->product_id(), loaded->product, loaded->version, response);
  return grpc::Status::OK;
}

grpc::Status InventoryServiceImpl::ListProductEvents(
    grpc::ServerContext* /*context*/,
    const v1::ListProductEventsRequest* request,
    v1::ListProductEventsResponse* response) {
  if (absl::Status valid = Validate(*request); !valid.ok()) {
    return shop::ToGrpcStatus(valid);
  }
  const int page = request->max_count() == 0 ? shop::kDefaultHistoryPage
                                             : request->max_count();
  absl::StatusOr<std::vector<eventstore::RecordedEvent>> events =
      inventory_->ListEvents(request->product_id(),
                             std::max<int64_t>(request->from_version(), 1),
                             page);
  if (!events.ok()) return shop::ToGrpcStatus(events.status());
  shop::FillHistory(*events, page, response);
  return grpc::Status::OK;
}

}  // namespace inventory
