// Owns the reads: a stream's head, a stream forward, backward and as of a
// time, every stream in commit-safe order (ReadAll), one correlation id's
// events, and the streams due. Filtered stream reads: stream_filter.cc.
#include <algorithm>
#include <limits>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/eventstore/event_store.h"
#include "common/eventstore/event_store_internal.h"

namespace eventstore {
namespace {

using internal::FormatTimestamp;
using internal::kEventColumns;
using internal::RowsToEvents;
using internal::ValidateCount;

}  // namespace

namespace internal {

RecordedEvent RowToEvent(const pqxx::row& row) {
  RecordedEvent event;
  event.stream_id = row[0].as<std::string>();
  event.version = row[1].as<int64_t>();
  event.position.transaction_id = row[2].as<uint64_t>();
  event.position.position = row[3].as<int64_t>();
  event.event_id = row[4].as<std::string>();
  event.type = row[5].as<std::string>();
  event.data_json = row[6].as<std::string>();
  event.metadata_json = row[7].as<std::string>();
  event.recorded_at = absl::FromUnixMicros(row[8].as<int64_t>());
  return event;
}

std::vector<RecordedEvent> RowsToEvents(const pqxx::result& rows) {
  std::vector<RecordedEvent> events;
  events.reserve(rows.size());
  for (const pqxx::row& row : rows) events.push_back(RowToEvent(row));
  return events;
}

absl::Status ValidateCount(int max_count) {
  if (max_count <= 0 || max_count > EventStore::kMaxReadCount) {
    return absl::InvalidArgumentError(absl::StrCat("max_count must be 1 to ",
                                                   EventStore::kMaxReadCount,
                                                   ", got ", max_count));
  }
  return absl::OkStatus();
}

}  // namespace internal

absl::StatusOr<StreamHead> EventStore::ReadHead(const std::string& stream) {
  const std::string name = prefix_ + "read_head";
  StreamHead head;
  absl::Status status = pool_->Run([&](Connection& connection) {
    connection.Prepare(
        name, absl::StrCat("SELECT version, snapshot::text, snapshot_version "
                           "FROM ",
                           schema_, ".streams WHERE stream_id = $1"));
    pqxx::nontransaction tx(connection.raw());
    pqxx::result rows = tx.exec_prepared(name, stream);
    if (!rows.empty()) {
      head.version = rows[0][0].as<int64_t>();
      if (!rows[0][1].is_null())
        head.snapshot_json = rows[0][1].as<std::string>();
      head.snapshot_version = rows[0][2].as<int64_t>();
    }
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return head;
}

template <typename... Params>
absl::StatusOr<std::vector<RecordedEvent>> EventStore::QueryEvents(
    const std::string& name, absl::string_view where, int max_count,
    const Params&... params) {
  if (absl::Status valid = ValidateCount(max_count); !valid.ok()) return valid;
  const std::string statement = prefix_ + name;
  std::vector<RecordedEvent> events;
  absl::Status status = pool_->Run([&](Connection& connection) {
    connection.Prepare(statement,
                       absl::StrCat("SELECT ", kEventColumns, " FROM ", schema_,
                                    ".events WHERE ", where));
    pqxx::nontransaction tx(connection.raw());
    events = RowsToEvents(tx.exec_prepared(statement, params..., max_count));
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return events;
}

absl::StatusOr<std::vector<RecordedEvent>> EventStore::ReadStreamForward(
    const std::string& stream, int64_t from_version, int max_count) {
  return QueryEvents("read_forward",
                     "stream_id = $1 AND version >= $2 ORDER BY version "
                     "LIMIT $3",
                     max_count, stream, from_version);
}

absl::StatusOr<std::vector<RecordedEvent>> EventStore::ReadStreamBackward(
    const std::string& stream, int64_t from_version, int max_count) {
  if (from_version <= 0) from_version = std::numeric_limits<int64_t>::max();
  return QueryEvents("read_backward",
                     "stream_id = $1 AND version <= $2 ORDER BY version DESC "
                     "LIMIT $3",
                     max_count, stream, from_version);
}

absl::StatusOr<std::vector<RecordedEvent>> EventStore::ReadStreamAsOf(
    const std::string& stream, absl::Time as_of, int64_t from_version,
    int max_count) {
  return QueryEvents("read_as_of",
                     "stream_id = $1 AND version >= $2 AND recorded_at <= "
                     "$3::timestamptz ORDER BY version LIMIT $4",
                     max_count, stream, from_version, FormatTimestamp(as_of));
}

absl::StatusOr<std::vector<RecordedEvent>> EventStore::ReadByCorrelation(
    const std::string& correlation_id, GlobalPosition after, int max_count) {
  // Spelled as index events_correlation (migration 0005) is.
  return QueryEvents("read_by_correlation",
                     "metadata->>'correlationId' = $1 AND (transaction_id, "
                     "position) > ($2::text::xid8, $3::bigint) ORDER BY "
                     "transaction_id, position LIMIT $4",
                     max_count, correlation_id,
                     absl::StrCat(after.transaction_id), after.position);
}

absl::StatusOr<std::vector<RecordedEvent>> EventStore::ReadAll(
    GlobalPosition after, int max_count) {
  // Transaction ids below the snapshot's xmin belong to transactions that
  // have all ended, so nothing can still commit in front of what we return.
  return QueryEvents("read_all",
                     "(transaction_id, position) > ($1::text::xid8, "
                     "$2::bigint) AND transaction_id < "
                     "pg_snapshot_xmin(pg_current_snapshot()) ORDER BY "
                     "transaction_id, position LIMIT $3",
                     max_count, absl::StrCat(after.transaction_id),
                     after.position);
}

absl::StatusOr<GlobalPosition> EventStore::ReadAllEnd() {
  absl::StatusOr<CommitHorizon> horizon = ReadHorizon();
  if (!horizon.ok()) return horizon.status();
  return horizon->safe;
}

absl::StatusOr<std::vector<std::string>> EventStore::StreamsDue(absl::Time now,
                                                                int max_count) {
  if (absl::Status valid = ValidateCount(max_count); !valid.ok()) return valid;
  const std::string name = prefix_ + "streams_due";
  std::vector<std::string> streams;
  absl::Status status = pool_->Run([&](Connection& connection) {
    connection.Prepare(name,
                       absl::StrCat("SELECT stream_id FROM ", schema_,
                                    ".streams WHERE due_at <= $1::timestamptz "
                                    "ORDER BY due_at LIMIT $2"));
    pqxx::nontransaction tx(connection.raw());
    for (const pqxx::row& row :
         tx.exec_prepared(name, FormatTimestamp(now), max_count)) {
      streams.push_back(row[0].as<std::string>());
    }
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return streams;
}

absl::StatusOr<DueSummary> EventStore::SummarizeDue(absl::Time now) {
  const std::string name = prefix_ + "summarize_due";
  DueSummary summary;
  absl::Status status = pool_->Run([&](Connection& connection) {
    // Only streams with a due time: the partial index streams_due_at.
    connection.Prepare(
        name, absl::StrCat("SELECT count(*), "
                           "count(*) FILTER (WHERE due_at <= $1::timestamptz), "
                           "extract(epoch FROM $1::timestamptz - min(due_at)) "
                           "FROM ",
                           schema_, ".streams WHERE due_at IS NOT NULL"));
    pqxx::nontransaction tx(connection.raw());
    const pqxx::row row = tx.exec_prepared1(name, FormatTimestamp(now));
    summary.scheduled = row[0].as<int64_t>();
    summary.due = row[1].as<int64_t>();
    if (summary.due > 0) {
      summary.oldest_due_for = absl::Seconds(row[2].as<double>());
    }
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return summary;
}

bool CommitHorizon::Committed(uint64_t transaction_id) const {
  if (transaction_id < xmin) return true;
  if (transaction_id >= xmax) return false;
  return std::find(running.begin(), running.end(), transaction_id) ==
         running.end();
}

bool ParseSnapshot(absl::string_view text, CommitHorizon* horizon) {
  std::vector<absl::string_view> parts = absl::StrSplit(text, ':');
  if (parts.size() != 3 || !absl::SimpleAtoi(parts[0], &horizon->xmin) ||
      !absl::SimpleAtoi(parts[1], &horizon->xmax)) {
    return false;
  }
  horizon->running.clear();
  for (absl::string_view xid :
       absl::StrSplit(parts[2], ',', absl::SkipEmpty())) {
    uint64_t value = 0;
    if (!absl::SimpleAtoi(xid, &value)) return false;
    horizon->running.push_back(value);
  }
  return true;
}

absl::StatusOr<CommitHorizon> EventStore::ReadHorizon() {
  const std::string name = prefix_ + "read_horizon";
  CommitHorizon horizon;
  absl::Status status = pool_->Run([&](Connection& connection) {
    // One statement, one snapshot: the three agree.
    connection.Prepare(
        name,
        absl::StrCat(
            "SELECT s::text, safe.t, safe.p, last.t, last.p FROM "
            "pg_current_snapshot() AS s LEFT JOIN LATERAL (SELECT "
            "transaction_id::text AS t, position AS p FROM ",
            schema_,
            ".events WHERE transaction_id < pg_snapshot_xmin(s) ORDER BY "
            "transaction_id DESC, position DESC LIMIT 1) AS safe ON true LEFT "
            "JOIN LATERAL (SELECT transaction_id::text AS t, position AS p "
            "FROM ",
            schema_,
            ".events ORDER BY transaction_id DESC, position DESC LIMIT 1) AS "
            "last ON true"));
    pqxx::nontransaction tx(connection.raw());
    const pqxx::row row = tx.exec_prepared1(name);
    if (!ParseSnapshot(row[0].c_str(), &horizon)) {
      return absl::InternalError(
          absl::StrCat("unreadable snapshot '", row[0].c_str(), "'"));
    }
    if (!row[1].is_null()) {
      horizon.safe = {row[1].as<uint64_t>(), row[2].as<int64_t>()};
    }
    if (!row[3].is_null()) {
      horizon.last = {row[3].as<uint64_t>(), row[4].as<int64_t>()};
    }
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return horizon;
}

}  // namespace eventstore
