#include "services/inventory/api/console_api.h"

#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/server/validation.h"
#include "common/util/proto_json.h"
#include "common/util/proto_time.h"

namespace inventory {
namespace {

using shop::console::ErrorResponse;
using shop::console::HttpRequest;
using shop::console::HttpResponse;
using shop::console::Unary;

constexpr int kDefaultSeriesPoints = 500;
constexpr int kMaxSeriesPoints = 2000;

absl::StatusOr<int> MaxPointsOf(const HttpRequest& http) {
  const std::string asked = http.Param("max_points");
  if (asked.empty()) return kDefaultSeriesPoints;
  int points = 0;
  if (!absl::SimpleAtoi(asked, &points) || points < 1 ||
      points > kMaxSeriesPoints) {
    return shop::InvalidField("max_points",
                              absl::StrCat("must be 1 to ", kMaxSeriesPoints));
  }
  return points;
}

void AppendInt(absl::string_view key, int64_t value, std::string* json) {
  // int64 as a string, as protobuf's JSON writes it.
  absl::StrAppend(json, "\"", key, "\":\"", value, "\"");
}

HttpResponse SeriesOf(StockHistory* history, const HttpRequest& http) {
  const std::string product_id = http.Param("product_id");
  if (absl::Status valid = shop::ValidateId("product_id", product_id);
      !valid.ok()) {
    return ErrorResponse(valid);
  }
  absl::StatusOr<int> max_points = MaxPointsOf(http);
  if (!max_points.ok()) return ErrorResponse(max_points.status());
  absl::StatusOr<std::vector<StockPoint>> points =
      history->Series(product_id, *max_points);
  if (!points.ok()) return ErrorResponse(points.status());
  std::string json = "{\"productId\":";
  shop::AppendJsonString(product_id, &json);
  json += ",\"points\":[";
  for (size_t i = 0; i < points->size(); ++i) {
    const StockPoint& point = (*points)[i];
    if (i > 0) json.push_back(',');
    json.push_back('{');
    AppendInt("version", point.version, &json);
    json += ",\"recordedAt\":";
    shop::AppendJsonString(
        absl::FormatTime("%Y-%m-%d%ET%H:%M:%E*SZ", point.recorded_at,
                         absl::UTCTimeZone()),
        &json);
    json += ",\"type\":";
    shop::AppendJsonString(point.type, &json);
    json += ",\"warehouses\":[";
    bool first = true;
    for (const auto& [warehouse_id, stock] : point.warehouses) {
      if (!first) json.push_back(',');
      first = false;
      json += "{\"warehouseId\":";
      shop::AppendJsonString(warehouse_id, &json);
      json.push_back(',');
      AppendInt("onHand", stock.on_hand, &json);
      json.push_back(',');
      AppendInt("available", stock.available(), &json);
      json.push_back('}');
    }
    json += "]}";
  }
  json += "]}";
  return {200, "application/json; charset=utf-8", std::move(json)};
}

HttpResponse CorrelationOf(InventoryServiceImpl* service,
                           const HttpRequest& http) {
  v1::ListEventsByCorrelationRequest request;
  if (absl::Status parsed = shop::console::ParseQueryInto(http, &request);
      !parsed.ok()) {
    return ErrorResponse(parsed);
  }
  grpc::ServerContext context;
  v1::ListEventsByCorrelationResponse response;
  if (grpc::Status status =
          service->ListEventsByCorrelation(&context, &request, &response);
      !status.ok()) {
    return ErrorResponse(shop::FromGrpcStatus(status));
  }
  std::vector<shop::console::TaggedEvent> events;
  shop::console::TagEvents("inventory", response, &events);
  return {200, "application/json; charset=utf-8",
          shop::console::TaggedEventsJson(std::move(events),
                                          response.next_page_token(),
                                          /*truncated=*/false)};
}

}  // namespace

shop::console::Routes ConsoleApi(InventoryServiceImpl* service,
                                 StockHistory* history,
                                 eventstore::Feed* feed) {
  using Service = InventoryServiceImpl;
  const std::string methods = "/api/inventory.v1.InventoryService/";
  return {
      {methods + "GetStock", Unary(service, &Service::GetStock)},
      {methods + "GetStockAsOf", Unary(service, &Service::GetStockAsOf)},
      {methods + "ListProductEvents",
       Unary(service, &Service::ListProductEvents)},
      {methods + "ListEventsByCorrelation",
       Unary(service, &Service::ListEventsByCorrelation)},
      {methods + "ListWarehouses", Unary(service, &Service::ListWarehouses)},
      {methods + "ListStock", Unary(service, &Service::ListStock)},
      {"/api/stock_series",
       [history](const HttpRequest& http) { return SeriesOf(history, http); }},
      {"/api/correlation",
       [service](const HttpRequest& http) {
         return CorrelationOf(service, http);
       }},
      {"/api/live", shop::console::Live<v1::SubscribeResponse>(feed)},
  };
}

}  // namespace inventory
