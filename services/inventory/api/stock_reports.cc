// Owns the handler of ListStock, the query of the read model stock_levels:
// its checks and its page token.
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/eventstore/position_token.h"
#include "common/rpc/status_mapping.h"
#include "common/server/min_position.h"
#include "common/server/validation.h"
#include "common/util/proto_time.h"
#include "services/inventory/api/inventory_service.h"
#include "services/inventory/api/stock_response.h"

namespace inventory {
namespace {

constexpr size_t kMaxWarehouseIdBytes = 64;
constexpr int kDefaultPageSize = 100;

// The token names the last row sent: its product and warehouse.
std::string PageTokenOf(const StockLevelRow& row) {
  return absl::WebSafeBase64Escape(
      absl::StrCat(row.product_id, "\n", row.warehouse_id));
}

absl::StatusOr<std::pair<std::string, std::string>> ParsePageToken(
    const std::string& token) {
  std::string text;
  std::vector<std::string> parts;
  if (absl::WebSafeBase64Unescape(token, &text)) {
    parts = absl::StrSplit(text, '\n');
  }
  if (parts.size() != 2 || !shop::ValidateId("page_token", parts[0]).ok() ||
      !shop::ValidateSlug("page_token", parts[1], kMaxWarehouseIdBytes).ok()) {
    return shop::InvalidField("page_token",
                              "must be a next_page_token ListStock returned");
  }
  return std::make_pair(std::move(parts[0]), std::move(parts[1]));
}

}  // namespace

absl::Status Validate(const v1::ListStockRequest& request) {
  return shop::FirstError(
      {request.warehouse_id().empty()
           ? absl::OkStatus()
           : shop::ValidateSlug("warehouse_id", request.warehouse_id(),
                                kMaxWarehouseIdBytes),
       request.has_max_available()
           ? shop::ValidateRange("max_available", request.max_available(), 0,
                                 INT64_MAX)
           : absl::OkStatus(),
       shop::ValidateRange("page_size", request.page_size(), 0, 1000),
       request.page_token().empty()
           ? absl::OkStatus()
           : ParsePageToken(request.page_token()).status(),
       request.min_position().empty()
           ? absl::OkStatus()
           : eventstore::ParsePositionToken(request.min_position(),
                                            "min_position")
                 .status()});
}

grpc::Status InventoryServiceImpl::ListStock(
    grpc::ServerContext* context, const v1::ListStockRequest* request,
    v1::ListStockResponse* response) {
  if (absl::Status valid = Validate(*request); !valid.ok()) {
    return shop::ToGrpcStatus(valid);
  }
  StockQuery query;
  query.warehouse_id = request->warehouse_id();
  if (request->has_max_available()) {
    query.max_available = request->max_available();
  }
  query.max_count =
      request->page_size() == 0 ? kDefaultPageSize : request->page_size();
  if (!request->page_token().empty()) {
    std::tie(query.after_product_id, query.after_warehouse_id) =
        *ParsePageToken(request->page_token());
  }
  absl::StatusOr<StockPage> page = reports_->List(
      query, *shop::MinPositionOf(*context, request->min_position()));
  if (!page.ok()) return shop::ToGrpcStatus(page.status());
  for (const StockLevelRow& row : page->rows) {
    v1::StockLevel* out = response->add_levels();
    out->set_product_id(row.product_id);
    out->set_name(row.name);
    FillWarehouse(row.warehouse_id, row.stock, out->mutable_stock());
    out->set_version(row.version);
    *out->mutable_updated_at() = shop::ToProto(row.updated_at);
  }
  if (static_cast<int>(page->rows.size()) == query.max_count) {
    response->set_next_page_token(PageTokenOf(page->rows.back()));
  }
  response->set_position(eventstore::EncodePositionToken(page->position));
  return grpc::Status::OK;
}

}  // namespace inventory
