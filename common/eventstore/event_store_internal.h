#pragma once

// Owns what the event store's .cc files share and nobody else may use: the
// read columns, timestamp text, and the rows of an append's result.
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/eventstore/event_store.h"
#include "pqxx/pqxx"

namespace eventstore::internal {

// INVALID_ARGUMENT unless 1..kMaxEventsPerAppend events with UUID ids and
// types of 1..128 bytes.
absl::Status ValidateEvents(const std::vector<EventData>& events);

// Columns every read returns, in the order RowToEvent expects.
// The text form of transaction_id is named apart: under its own name it
// would be what ORDER BY transaction_id sorts by (output names come first),
// text order ("100" before "99") and without the index.
inline constexpr char kEventColumns[] =
    "stream_id, version, transaction_id::text AS xid, position, "
    "event_id::text, "
    "type, data::text, metadata::text, "
    "(extract(epoch FROM recorded_at) * 1000000)::bigint";

RecordedEvent RowToEvent(const pqxx::row& row);
std::vector<RecordedEvent> RowsToEvents(const pqxx::result& rows);
// INVALID_ARGUMENT unless 1..EventStore::kMaxReadCount.
absl::Status ValidateCount(int max_count);

// The events' own unique event id (migration 0001); any other unique
// constraint is one a service added.
inline constexpr char kEventIdConstraint[] = "events_event_id_key";

inline std::string FormatTimestamp(absl::Time t) {
  return absl::FormatTime(absl::RFC3339_full, t, absl::UTCTimeZone());
}

// The result of an append statement's rows (version, transaction_id,
// position): the last event's place.
inline AppendResult LastOf(const pqxx::result& rows) {
  AppendResult result;
  for (const pqxx::row& row : rows) {
    const int64_t version = row[0].as<int64_t>();
    if (version >= result.version) {
      result.version = version;
      result.position.transaction_id = row[1].as<uint64_t>();
      result.position.position = row[2].as<int64_t>();
    }
  }
  return result;
}

}  // namespace eventstore::internal
