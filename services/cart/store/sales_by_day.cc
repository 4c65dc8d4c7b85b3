// Owns the SQL of the sales_by_day read model: its table, how order.placed
// events add to it, and the report by day in a time zone.
#include "services/cart/store/sales_by_day.h"

#include <utility>
#include <variant>

#include "absl/container/btree_map.h"
#include "absl/strings/str_cat.h"
#include "common/eventstore/array_literal.h"
#include "common/eventstore/connection_pool.h"
#include "services/cart/domain/order.h"

namespace cart {
namespace {

constexpr absl::Duration kBucket = absl::Minutes(15);

struct Bucket {
  int64_t total_cents = 0;
  int64_t orders = 0;
};

std::string DayText(absl::CivilDay day) { return absl::FormatCivilTime(day); }

}  // namespace

std::vector<eventstore::Migration> SalesByDay::Migrations() {
  // Applied migrations never change: this text must stay as deployed.
  return {{"0211_sales_by_day", R"sql(
-- The read model sales_by_day (projection of the same name).
CREATE TABLE {schema}.sales_buckets (
  bucket timestamptz PRIMARY KEY,
  total_cents bigint NOT NULL,
  orders bigint NOT NULL
);
)sql"}};
}

eventstore::RebuildableModel SalesByDay::Rebuildable(
    eventstore::EventStore* events) {
  return {.name = kSalesByDayProjection,
          .tables = {"sales_buckets"},
          .migrations = Migrations(),
          .make = [events](const std::string& rows_schema) {
            return std::make_unique<SalesByDay>(events, rows_schema);
          }};
}

absl::Status SalesByDay::Apply(
    pqxx::work& tx, absl::Span<const eventstore::RecordedEvent> events) {
  absl::btree_map<int64_t, Bucket> buckets;  // by start, unix seconds
  for (const eventstore::RecordedEvent& event : events) {
    if (event.type != OrderPlacedType()) continue;
    absl::StatusOr<OrderEvent> decoded =
        OrderEventFromJson(event.type, event.data_json);
    if (!decoded.ok()) return decoded.status();
    const auto* placed = std::get_if<v1::OrderPlaced>(&*decoded);
    if (placed == nullptr) {
      return absl::InternalError(
          absl::StrCat("sales_by_day: ", event.type, " did not decode"));
    }
    const int64_t start = absl::ToUnixSeconds(event.recorded_at) /
                          absl::ToInt64Seconds(kBucket) *
                          absl::ToInt64Seconds(kBucket);
    Bucket& bucket = buckets[start];
    bucket.total_cents += placed->total_cents();
    ++bucket.orders;
  }
  if (buckets.empty()) return absl::OkStatus();
  tx.exec_params(
      absl::StrCat("INSERT INTO ", rows_schema_,
                   ".sales_buckets AS b (bucket, total_cents, orders) SELECT "
                   "to_timestamp(s), t, n FROM unnest($1::bigint[], "
                   "$2::bigint[], $3::bigint[]) AS u(s, t, n) ON CONFLICT "
                   "(bucket) DO UPDATE SET total_cents = b.total_cents + "
                   "EXCLUDED.total_cents, orders = b.orders + EXCLUDED.orders"),
      eventstore::ArrayLiteralOf(
          buckets, [](const auto& b) { return absl::StrCat(b.first); }),
      eventstore::ArrayLiteralOf(
          buckets,
          [](const auto& b) { return absl::StrCat(b.second.total_cents); }),
      eventstore::ArrayLiteralOf(buckets, [](const auto& b) {
        return absl::StrCat(b.second.orders);
      }));
  return absl::OkStatus();
}

absl::StatusOr<SalesReport> SalesByDay::Report(absl::CivilDay from,
                                               absl::CivilDay to,
                                               const std::string& time_zone) {
  const std::string& schema = events_->schema();
  SalesReport report;
  absl::Status status = events_->pool().Run([&](eventstore::Connection& c) {
    pqxx::transaction<pqxx::isolation_level::repeatable_read,
                      pqxx::readwrite_policy::read_only>
        tx(c.raw());
    report.position = eventstore::BeginModelRead(
        tx, schema, kSalesByDayProjection, {"sales_buckets"});
    // Every day of the range, those without sales too.
    const pqxx::result rows = tx.exec_params(
        absl::StrCat(
            "SELECT d::date::text, COALESCE(sum(b.total_cents), 0), "
            "COALESCE(sum(b.orders), 0) FROM "
            "generate_series($1::date::timestamp, "
            "$2::date::timestamp, interval '1 day') AS d LEFT JOIN ",
            schema,
            ".sales_buckets b ON b.bucket >= (d AT TIME ZONE $3) AND b.bucket "
            "< "
            "((d + interval '1 day') AT TIME ZONE $3) GROUP BY d ORDER BY d"),
        DayText(from), DayText(to), time_zone);
    for (const pqxx::row& row : rows) {
      DaySales day;
      if (!absl::ParseCivilTime(row[0].c_str(), &day.day)) {
        return absl::InternalError(
            absl::StrCat("unreadable day '", row[0].c_str(), "'"));
      }
      day.total_cents = row[1].as<int64_t>();
      day.orders = row[2].as<int64_t>();
      report.days.push_back(day);
    }
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return report;
}

}  // namespace cart
