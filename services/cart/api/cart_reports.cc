// Owns the handlers of the cart's read-model queries, ListCarts and
// GetSalesByDay: their checks, page token and answers.
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "common/eventstore/position_token.h"
#include "common/rpc/status_mapping.h"
#include "common/server/min_position.h"
#include "common/server/validation.h"
#include "common/util/proto_time.h"
#include "services/cart/api/cart_service.h"

namespace cart {
namespace {

constexpr int kDefaultPageSize = 100;
constexpr int kMaxDays = 366;
constexpr size_t kMaxTimeZoneBytes = 64;

// The token names the last cart sent: its creation time and id.
std::string PageTokenOf(const CartRow& row) {
  return absl::WebSafeBase64Escape(
      absl::StrCat(absl::ToUnixMicros(row.created_at), "\n", row.cart_id));
}

absl::StatusOr<std::pair<absl::Time, std::string>> ParsePageToken(
    const std::string& token) {
  std::string text;
  std::vector<std::string> parts;
  int64_t micros = 0;
  if (absl::WebSafeBase64Unescape(token, &text)) {
    parts = absl::StrSplit(text, '\n');
  }
  if (parts.size() != 2 || !absl::SimpleAtoi(parts[0], &micros) ||
      !shop::ValidateId("page_token", parts[1]).ok()) {
    return shop::InvalidField("page_token",
                              "must be a next_page_token ListCarts returned");
  }
  return std::make_pair(absl::FromUnixMicros(micros), std::move(parts[1]));
}

absl::StatusOr<absl::CivilDay> ParseDay(absl::string_view field,
                                        const std::string& text) {
  absl::CivilDay day;
  // ParseCivilTime also takes years of more than four digits: refuse them.
  if (text.size() != 10 || !absl::ParseCivilTime(text, &day)) {
    return shop::InvalidField(field, "must be a day as YYYY-MM-DD");
  }
  return day;
}

absl::Status ValidateTimeZone(const std::string& name) {
  absl::TimeZone zone;
  if (name.size() > kMaxTimeZoneBytes || !absl::LoadTimeZone(name, &zone)) {
    return shop::InvalidField(
        "time_zone", "must be an IANA time zone such as Europe/Berlin");
  }
  return absl::OkStatus();
}

absl::Status ValidateMinPosition(const std::string& token) {
  if (token.empty()) return absl::OkStatus();
  return eventstore::ParsePositionToken(token, "min_position").status();
}

}  // namespace

absl::Status Validate(const v1::ListCartsRequest& request) {
  return shop::FirstError(
      {shop::ValidateId("customer_id", request.customer_id()),
       shop::ValidateEnum("state", request.state(),
                          v1::CartState_IsValid(request.state()),
                          /*unspecified_allowed=*/true),
       shop::ValidateRange("page_size", request.page_size(), 0, 1000),
       request.page_token().empty()
           ? absl::OkStatus()
           : ParsePageToken(request.page_token()).status(),
       ValidateMinPosition(request.min_position())});
}

absl::Status Validate(const v1::GetSalesByDayRequest& request) {
  absl::StatusOr<absl::CivilDay> from =
      ParseDay("from_day", request.from_day());
  if (!from.ok()) return from.status();
  absl::StatusOr<absl::CivilDay> to = ParseDay("to_day", request.to_day());
  if (!to.ok()) return to.status();
  if (*to < *from)
    return shop::InvalidField("to_day", "must not be before from_day");
  if (*to - *from >= kMaxDays) {
    return shop::InvalidField(
        "to_day", absl::StrCat("must be at most ", kMaxDays,
                               " days from from_day, both included"));
  }
  return shop::FirstError({request.time_zone().empty()
                               ? absl::OkStatus()
                               : ValidateTimeZone(request.time_zone()),
                           ValidateMinPosition(request.min_position())});
}

grpc::Status CartServiceImpl::ListCarts(grpc::ServerContext* context,
                                        const v1::ListCartsRequest* request,
                                        v1::ListCartsResponse* response) {
  if (absl::Status valid = Validate(*request); !valid.ok()) {
    return shop::ToGrpcStatus(valid);
  }
  CartQuery query;
  query.customer_id = request->customer_id();
  if (request->state() == v1::CART_STATE_OPEN) {
    query.state = CartStateFilter::kOpen;
  } else if (request->state() == v1::CART_STATE_CHECKED_OUT) {
    query.state = CartStateFilter::kCheckedOut;
  }
  query.max_count =
      request->page_size() == 0 ? kDefaultPageSize : request->page_size();
  if (!request->page_token().empty()) {
    auto [created_at, cart_id] = *ParsePageToken(request->page_token());
    query.after_created_at = created_at;
    query.after_cart_id = std::move(cart_id);
  }
  absl::StatusOr<CartPage> page = reports_->ListCarts(
      query, *shop::MinPositionOf(*context, request->min_position()));
  if (!page.ok()) return shop::ToGrpcStatus(page.status());
  for (const CartRow& row : page->rows) {
    v1::CartSummary* out = response->add_carts();
    out->set_cart_id(row.cart_id);
    out->set_customer_id(row.customer_id);
    out->set_state(row.checked_out ? v1::CART_STATE_CHECKED_OUT
                                   : v1::CART_STATE_OPEN);
    out->set_order_id(row.order_id);
    out->set_item_count(row.item_count);
    out->set_total_cents(row.total_cents);
    out->set_version(row.version);
    *out->mutable_created_at() = shop::ToProto(row.created_at);
    *out->mutable_updated_at() = shop::ToProto(row.updated_at);
  }
  if (static_cast<int>(page->rows.size()) == query.max_count) {
    response->set_next_page_token(PageTokenOf(page->rows.back()));
  }
  response->set_position(eventstore::EncodePositionToken(page->position));
  return grpc::Status::OK;
}

grpc::Status CartServiceImpl::GetSalesByDay(
    grpc::ServerContext* context, const v1::GetSalesByDayRequest* request,
    v1::GetSalesByDayResponse* response) {
  if (absl::Status valid = Validate(*request); !valid.ok()) {
    return shop::ToGrpcStatus(valid);
  }
  absl::StatusOr<SalesReport> report = reports_->SalesByDay(
      *ParseDay("from_day", request->from_day()),
      *ParseDay("to_day", request->to_day()),
      request->time_zone().empty() ? "UTC" : request->time_zone(),
      *shop::MinPositionOf(*context, request->min_position()));
  if (!report.ok()) return shop::ToGrpcStatus(report.status());
  for (const DaySales& day : report->days) {
    v1::DaySales* out = response->add_days();
    out->set_day(absl::FormatCivilTime(day.day));
    out->set_total_cents(day.total_cents);
    out->set_orders(day.orders);
  }
  response->set_position(eventstore::EncodePositionToken(report->position));
  return grpc::Status::OK;
}

}  // namespace cart
