// Owns the filtered read of one stream (types, time range, a service's tag,
// either direction), each filter a bound parameter of one statement.
#include <algorithm>
#include <limits>
#include <optional>

#include "absl/strings/str_cat.h"
#include "common/eventstore/array_literal.h"
#include "common/eventstore/event_store.h"
#include "common/eventstore/event_store_internal.h"

namespace eventstore {
namespace {

using internal::FormatTimestamp;

constexpr int64_t kEnd = std::numeric_limits<int64_t>::max();

// A NULL parameter when absent.
const char* ArgOf(const std::optional<std::string>& value) {
  return value.has_value() ? value->c_str() : nullptr;
}

// Rounded up to PostgreSQL's microseconds: recorded_at >= t and
// recorded_at < t mean the same for the rounded t (PostgreSQL itself would
// round to the nearest).
std::optional<std::string> TimeArg(const std::optional<absl::Time>& time) {
  if (!time.has_value()) return std::nullopt;
  absl::Time up = absl::FromUnixMicros(absl::ToUnixMicros(*time));
  if (up < *time) up += absl::Microseconds(1);
  return FormatTimestamp(up);
}

}  // namespace

absl::StatusOr<std::vector<RecordedEvent>> EventStore::ReadStreamFiltered(
    const std::string& stream, int64_t from_version, const StreamFilter& filter,
    int max_count) {
  if (absl::Status valid = internal::ValidateCount(max_count); !valid.ok()) {
    return valid;
  }
  const bool tagged = !filter.tag_function.empty();
  if ((tagged && !IsValidSchemaName(filter.tag_function)) ||
      (!tagged && !filter.tag.empty())) {
    return absl::InvalidArgumentError(
        absl::StrCat("tag_function '", filter.tag_function,
                     "' must be a lower-case identifier given with its tag"));
  }
  int64_t low = filter.backward ? 1 : std::max<int64_t>(from_version, 1);
  int64_t high = filter.backward && from_version > 0 ? from_version : kEnd;
  const std::optional<std::string> from_time = TimeArg(filter.from_time);
  const std::optional<std::string> to_time = TimeArg(filter.to_time);
  std::optional<std::string> types;
  if (!filter.types.empty()) {
    types = ArrayLiteralOf(filter.types,
                           [](const std::string& type) { return type; });
  }
  const std::string first_at = prefix_ + "filtered_first_at";
  const std::string last_before = prefix_ + "filtered_last_before";
  const std::string name =
      absl::StrCat(prefix_, "filtered_", filter.backward ? "back" : "fwd",
                   tagged ? "_" : "", filter.tag_function);
  std::vector<RecordedEvent> events;
  absl::Status status = pool_->Run([&](Connection& connection) {
    connection.Prepare(first_at,
                       absl::StrCat("SELECT version FROM ", schema_,
                                    ".events WHERE stream_id = $1 AND "
                                    "recorded_at >= $2::timestamptz ORDER "
                                    "BY recorded_at, version LIMIT 1"));
    connection.Prepare(
        last_before,
        absl::StrCat("SELECT version FROM ", schema_,
                     ".events WHERE stream_id = $1 AND recorded_at < "
                     "$2::timestamptz ORDER BY recorded_at DESC, version "
                     "DESC LIMIT 1"));
    // The time bounds stay as filters: they make the read exact even if a
    // clock step broke the order of recorded_at.
    connection.Prepare(
        name,
        absl::StrCat(
            "SELECT ", internal::kEventColumns, " FROM ", schema_,
            ".events WHERE stream_id = $1 AND version BETWEEN $2 AND $3 "
            "AND ($4::text[] IS NULL OR type = ANY($4::text[])) "
            "AND ($5::timestamptz IS NULL OR recorded_at >= $5::timestamptz) "
            "AND ($6::timestamptz IS NULL OR recorded_at < $6::timestamptz) ",
            tagged ? absl::StrCat("AND $7::text = ANY(", schema_, ".",
                                  filter.tag_function, "(data)) ")
                   : "AND $7::text IS NULL ",
            "ORDER BY version ", filter.backward ? "DESC" : "", " LIMIT $8"));
    pqxx::nontransaction tx(connection.raw());
    // A stream's appends are serialized by its row, so recorded_at grows
    // with the version: the time range becomes a version range on index
    // events_stream_recorded_at (0005), and the scan below stays in it.
    if (from_time.has_value()) {
      pqxx::result rows = tx.exec_prepared(first_at, stream, *from_time);
      if (rows.empty()) return absl::OkStatus();
      low = std::max(low, rows[0][0].as<int64_t>());
    }
    if (to_time.has_value()) {
      pqxx::result rows = tx.exec_prepared(last_before, stream, *to_time);
      if (rows.empty()) return absl::OkStatus();
      high = std::min(high, rows[0][0].as<int64_t>());
    }
    if (low > high) return absl::OkStatus();
    events = internal::RowsToEvents(tx.exec_prepared(
        name, stream, low, high, ArgOf(types), ArgOf(from_time), ArgOf(to_time),
        tagged ? filter.tag.c_str() : static_cast<const char*>(nullptr),
        max_count));
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return events;
}

}  // namespace eventstore
