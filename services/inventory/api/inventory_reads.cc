// Owns the handlers of the inventory's reads: figures now and as of a time,
// a product's history with filters, and one correlation id's events.
#include <algorithm>
#include <limits>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/rpc/status_mapping.h"
#include "common/server/feed_stream.h"
#include "common/server/history.h"
#include "common/server/validation.h"
#include "common/util/proto_time.h"
#include "services/inventory/api/inventory_service.h"
#include "services/inventory/api/stock_response.h"

namespace inventory {
namespace {

constexpr size_t kMaxTypes = 32;
constexpr size_t kMaxWarehouseIdBytes = 64;
// An as_of a little ahead of this server's clock is another machine's
// clock; further ahead it is a mistake.
constexpr absl::Duration kMaxClockAhead = absl::Minutes(5);

// A timestamp protobuf can represent: 0001-01-01 to 9999-12-31, nanos in
// 0..999,999,999.
absl::Status ValidateTimestamp(absl::string_view field,
                               const google::protobuf::Timestamp& t) {
  constexpr int64_t kMinSeconds = -62'135'596'800;
  constexpr int64_t kMaxSeconds = 253'402'300'799;
  if (t.seconds() < kMinSeconds || t.seconds() > kMaxSeconds || t.nanos() < 0 ||
      t.nanos() > 999'999'999) {
    return shop::InvalidField(
        field, "must be a timestamp between 0001-01-01 and 9999-12-31");
  }
  return absl::OkStatus();
}

absl::Status ValidateTypes(const v1::ListProductEventsRequest& request) {
  if (static_cast<size_t>(request.types_size()) > kMaxTypes) {
    return shop::InvalidField(
        "types", absl::StrCat("must have at most ", kMaxTypes, " entries, got ",
                              request.types_size()));
  }
  const std::vector<std::string>& known = ProductEventTypes();
  for (const std::string& type : request.types()) {
    if (std::find(known.begin(), known.end(), type) == known.end()) {
      return shop::InvalidField(
          "types", absl::StrCat("has unknown type '", type.substr(0, 64),
                                "'; known: ", absl::StrJoin(known, ", ")));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateTimeRange(const v1::ListProductEventsRequest& request) {
  if (request.has_from_time() && request.has_to_time() &&
      shop::FromProto(request.from_time()) >=
          shop::FromProto(request.to_time())) {
    return shop::InvalidField("to_time", "must be after from_time");
  }
  return absl::OkStatus();
}

ProductEventQuery QueryOf(const v1::ListProductEventsRequest& request) {
  ProductEventQuery query;
  query.types.assign(request.types().begin(), request.types().end());
  query.warehouse_id = request.warehouse_id();
  if (request.has_from_time()) {
    query.from_time = shop::FromProto(request.from_time());
  }
  if (request.has_to_time()) query.to_time = shop::FromProto(request.to_time());
  query.backward = request.direction() == v1::READ_DIRECTION_BACKWARD;
  return query;
}

// One page of a product's history and where the next one starts, in the
// page's direction (0: the page reached the end).
void FillProductPage(const std::vector<eventstore::RecordedEvent>& events,
                     int page_size, bool backward,
                     v1::ListProductEventsResponse* response) {
  for (const eventstore::RecordedEvent& event : events) {
    shop::FillEvent(event, response->add_events());
  }
  if (static_cast<int>(events.size()) == page_size) {
    const int64_t last = events.back().version;
    response->set_next_from_version(backward ? last - 1 : last + 1);
  }
}

int PageOf(int32_t asked) {
  return asked == 0 ? shop::kDefaultHistoryPage : asked;
}

}  // namespace

absl::Status Validate(const v1::GetStockRequest& request) {
  return shop::ValidateId("product_id", request.product_id());
}

absl::Status Validate(const v1::ListProductEventsRequest& request) {
  return shop::FirstError(
      {shop::ValidateId("product_id", request.product_id()),
       shop::ValidateRange("from_version", request.from_version(), 0,
                           std::numeric_limits<int64_t>::max()),
       shop::ValidateRange("max_count", request.max_count(), 0,
                           shop::kMaxHistoryPage),
       ValidateTypes(request),
       request.warehouse_id().empty()
           ? absl::OkStatus()
           : shop::ValidateSlug("warehouse_id", request.warehouse_id(),
                                kMaxWarehouseIdBytes),
       request.has_from_time()
           ? ValidateTimestamp("from_time", request.from_time())
           : absl::OkStatus(),
       request.has_to_time() ? ValidateTimestamp("to_time", request.to_time())
                             : absl::OkStatus(),
       ValidateTimeRange(request),
       shop::ValidateEnum("direction", request.direction(),
                          v1::ReadDirection_IsValid(request.direction()),
                          /*unspecified_allowed=*/true)});
}

absl::Status Validate(const v1::GetStockAsOfRequest& request, absl::Time now) {
  if (absl::Status id = shop::ValidateId("product_id", request.product_id());
      !id.ok()) {
    return id;
  }
  if (!request.has_as_of()) return shop::InvalidField("as_of", "is required");
  if (absl::Status valid = ValidateTimestamp("as_of", request.as_of());
      !valid.ok()) {
    return valid;
  }
  if (shop::FromProto(request.as_of()) > now + kMaxClockAhead) {
    return shop::InvalidField(
        "as_of",
        absl::StrCat("must be at most ", absl::FormatDuration(kMaxClockAhead),
                     " in the future"));
  }
  return absl::OkStatus();
}

absl::Status Validate(const v1::ListEventsByCorrelationRequest& request) {
  return shop::ValidateCorrelationRequest(request);
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
  const int page = PageOf(request->max_count());
  const ProductEventQuery query = QueryOf(*request);
  absl::StatusOr<std::vector<eventstore::RecordedEvent>> events =
      history_->ListEvents(request->product_id(), request->from_version(),
                           query, page);
  if (!events.ok()) return shop::ToGrpcStatus(events.status());
  FillProductPage(*events, page, query.backward, response);
  return grpc::Status::OK;
}

grpc::Status InventoryServiceImpl::GetStockAsOf(
    grpc::ServerContext* /*context*/, const v1::GetStockAsOfRequest* request,
    v1::GetStockAsOfResponse* response) {
  if (absl::Status valid = Validate(*request, absl::Now()); !valid.ok()) {
    return shop::ToGrpcStatus(valid);
  }
  absl::StatusOr<LoadedProduct> loaded =
      history_->AsOf(request->product_id(), shop::FromProto(request->as_of()));
  if (!loaded.ok()) return shop::ToGrpcStatus(loaded.status());
  FillStock(request->product_id(), loaded->product, loaded->version, response);
  *response->mutable_as_of() = request->as_of();
  return grpc::Status::OK;
}

grpc::Status InventoryServiceImpl::ListEventsByCorrelation(
    grpc::ServerContext* /*context*/,
    const v1::ListEventsByCorrelationRequest* request,
    v1::ListEventsByCorrelationResponse* response) {
  if (absl::Status valid = Validate(*request); !valid.ok()) {
    return shop::ToGrpcStatus(valid);
  }
  eventstore::GlobalPosition after;
  if (!request->page_token().empty()) {
    after =
        *eventstore::ParsePositionToken(request->page_token(), "page_token");
  }
  const int page = PageOf(request->page_size());
  absl::StatusOr<std::vector<eventstore::RecordedEvent>> events =
      history_->ListByCorrelation(request->correlation_id(), after, page);
  if (!events.ok()) return shop::ToGrpcStatus(events.status());
  shop::FillCorrelationPage(*events, page, response);
  return grpc::Status::OK;
}

grpc::ServerWriteReactor<v1::SubscribeResponse>*
InventoryServiceImpl::Subscribe(grpc::CallbackServerContext*,
                                const v1::SubscribeRequest* request) {
  return shop::FeedReactor<v1::SubscribeResponse>::Start(
      feed_,
      shop::ParseFeedRequest(request->from_position(), request->types(),
                             request->stream_prefix()),
      {});
}

}  // namespace inventory
