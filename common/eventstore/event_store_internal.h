#pragma once

// Owns what the event store's .cc files share and nobody else may use: the
// read columns, timestamp text, and the group commit's pending append.
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

// DEADLINE_EXCEEDED / APPEND_DEADLINE_PASSED for an append not written.
absl::Status DeadlinePassedUnwritten();

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

namespace eventstore {

// One append while it waits for, or rides in, a group commit. A waited-for
// append borrows its caller's arguments (the caller blocks until it is
// answered); an unwaited one owns them.
struct EventStore::PendingAppend {
  enum class State {
    kQueued,      // waiting for a batch
    kTaken,       // in a batch being written
    kDone,        // `result` is the answer
    kRefused,     // not written: the caller resolves it on its own
    kRetryAlone,  // the merged statement failed: the caller appends alone
  };

  // The arguments of an append nobody waits for.
  struct Owned {
    std::string stream;
    ExpectedVersion expected;
    std::vector<EventData> events;
    std::optional<SnapshotWrite> snapshot;
  };

  PendingAppend(const std::string& stream, const ExpectedVersion& expected,
                const std::vector<EventData>& events,
                const SnapshotWrite* snapshot, absl::Time deadline)
      : stream(&stream),
        expected(&expected),
        events(&events),
        snapshot(snapshot),
        deadline(deadline) {}
  PendingAppend(Owned owned_data, AppendCallback done, absl::Time deadline)
      : owned(std::make_unique<Owned>(std::move(owned_data))),
        stream(&owned->stream),
        expected(&owned->expected),
        events(&owned->events),
        snapshot(owned->snapshot.has_value() ? &*owned->snapshot : nullptr),
        deadline(deadline),
        done(std::move(done)) {}

  // Exact versions of existing streams; other kinds may create the stream,
  // which the merged UPDATE cannot express.
  bool mergeable() const {
    return expected->kind() == ExpectedVersion::Kind::kExact &&
           expected->version() > 0;
  }
  bool waited_for() const { return owned == nullptr; }

  const std::unique_ptr<Owned> owned;
  // Into `owned`, or the waiting caller's arguments.
  const std::string* const stream;
  const ExpectedVersion* const expected;
  const std::vector<EventData>* const events;
  const SnapshotWrite* const snapshot;
  // Not written once this has passed.
  const absl::Time deadline;
  AppendCallback done;
  State state = State::kQueued;
  absl::StatusOr<AppendResult> result = absl::UnknownError("not answered");
};

}  // namespace eventstore
