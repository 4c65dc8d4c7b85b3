// Owns the store's life and the single-statement append: validation, the
// choice between writing alone and group commit, and the refusal of a
// unique constraint, named from the error's fields.
#include "common/eventstore/event_store.h"

#include <algorithm>
#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/errors/errors.h"
#include "common/eventstore/append_sql.h"
#include "common/eventstore/array_literal.h"
#include "common/eventstore/event_store_internal.h"
#include "common/eventstore/uuid.h"

namespace eventstore {
namespace {

constexpr size_t kMaxTypeLength = 128;

EventStoreOptions Clamped(EventStoreOptions options, int pool_size) {
  options.max_batch = std::max(options.max_batch, 1);
  // More statements in flight than connections would only queue in the pool.
  options.max_in_flight =
      std::clamp(options.max_in_flight, 1, std::max(pool_size, 1));
  return options;
}

}  // namespace

namespace internal {

absl::Status ValidateEvents(const std::vector<EventData>& events) {
  if (events.empty()) {
    return absl::InvalidArgumentError("append needs at least one event");
  }
  if (events.size() > EventStore::kMaxEventsPerAppend) {
    return absl::InvalidArgumentError(
        absl::StrCat("append takes at most ", EventStore::kMaxEventsPerAppend,
                     " events, got ", events.size()));
  }
  for (const EventData& event : events) {
    if (!IsUuid(event.event_id)) {
      return absl::InvalidArgumentError(
          absl::StrCat("event id must be a UUID, got '", event.event_id, "'"));
    }
    if (event.type.empty() || event.type.size() > kMaxTypeLength) {
      return absl::InvalidArgumentError(absl::StrCat(
          "event type must be 1 to ", kMaxTypeLength, " bytes long"));
    }
  }
  return absl::OkStatus();
}

}  // namespace internal

EventStore::AppendParams EventStore::ParamsOf(
    const std::vector<EventData>& events, const SnapshotWrite* snapshot) {
  AppendParams params;
  params.count = static_cast<int64_t>(events.size());
  params.ids = ArrayLiteralOf(
      events, [](const EventData& event) { return event.event_id; });
  params.types =
      ArrayLiteralOf(events, [](const EventData& event) { return event.type; });
  params.data = ArrayLiteralOf(
      events, [](const EventData& event) { return event.data_json; });
  params.metadata = ArrayLiteralOf(
      events, [](const EventData& event) { return event.metadata_json; });
  params.keep_due_at = snapshot == nullptr;
  if (snapshot != nullptr && snapshot->json.has_value()) {
    params.snapshot_json = *snapshot->json;
  }
  if (snapshot != nullptr && snapshot->due_at.has_value()) {
    params.due_at = internal::FormatTimestamp(*snapshot->due_at);
  }
  return params;
}

EventStore::EventStore(ConnectionPool* pool, std::string schema,
                       EventStoreOptions options)
    : pool_(pool),
      schema_(std::move(schema)),
      prefix_(schema_ + "_"),
      options_(Clamped(options, pool->size())),
      batch_sizes_(shop::metrics::Default().GetHistogram(
          "shop_eventstore_append_batch_size",
          "Appends carried by one group-commit turn (1: alone).",
          {{"schema", schema_}}, {1, 2, 4, 8, 16, 32, 64, 128})),
      timeouts_(shop::metrics::Default().GetCounter(
          "shop_eventstore_write_timeouts_total",
          "Append statements stopped at their bound (write timeout or the "
          "callers' deadline).",
          {{"schema", schema_}})),
      expired_(shop::metrics::Default().GetCounter(
          "shop_eventstore_appends_expired_total",
          "Appends not written because their caller's deadline passed first.",
          {{"schema", schema_}})),
      group_(&writer_, {.max_batch = options_.max_batch,
                        .max_in_flight = options_.max_in_flight,
                        .batch_sizes = batch_sizes_,
                        .expired = expired_}) {}

EventStore::~EventStore() { group_.Close(); }

absl::StatusOr<AppendResult> EventStore::Append(
    const std::string& stream, const ExpectedVersion& expected,
    const std::vector<EventData>& events, const SnapshotWrite* snapshot,
    absl::Time deadline) {
  if (absl::Status valid = internal::ValidateEvents(events); !valid.ok())
    return valid;
  if (stream.empty()) return absl::InvalidArgumentError("stream id is empty");
  if (group_.Shares(expected)) {
    return group_.Append({stream, expected, events, snapshot, deadline});
  }
  if (absl::Now() >= deadline) return DeadlinePassedUnwritten();
  return AppendAlone(stream, expected, events, snapshot, deadline);
}

void EventStore::AppendAsync(std::string stream, ExpectedVersion expected,
                             std::vector<EventData> events,
                             std::optional<SnapshotWrite> snapshot,
                             AppendCallback done, absl::Time deadline) {
  if (absl::Status valid = internal::ValidateEvents(events); !valid.ok()) {
    std::move(done)(valid);
    return;
  }
  if (stream.empty()) {
    std::move(done)(absl::InvalidArgumentError("stream id is empty"));
    return;
  }
  group_.AppendAsync(
      {std::move(stream), expected, std::move(events), std::move(snapshot)},
      deadline, std::move(done));
}

absl::StatusOr<AppendResult> EventStore::Writer::WriteAlone(
    const AppendArgs& append) {
  return store_.AppendAlone(append.stream, append.expected, append.events,
                            append.snapshot, append.deadline);
}

absl::StatusOr<AppendResult> EventStore::Writer::ResolveRefused(
    const AppendArgs& append) {
  return store_.ResolveRefusedAppend(append.stream, append.expected,
                                     append.events, /*id_conflict=*/false);
}

absl::Status EventStore::RunWrite(
    absl::Time deadline, const std::vector<const std::string*>& streams,
    absl::FunctionRef<absl::Status(Connection&)> fn, bool* not_written) {
  *not_written = false;
  const absl::Time timeout_at = absl::Now() + options_.write_timeout;
  const bool callers_bound = deadline < timeout_at;
  WriteWatch::Scope watched(writes_);
  StatementWatchdog::Fired fired;
  absl::Status status =
      pool_->RunBounded(std::min(deadline, timeout_at), &fired, fn);
  if (fired == StatementWatchdog::Fired::kNo || status.ok()) {
    for (const std::string* stream : streams) group_.EndIsolation(*stream);
    return status;
  }
  watched.TimedOut();
  timeouts_->Increment();
  group_.Isolate(streams);
  // A statement cancelled in time answers query_canceled and rolled back;
  // a cut connection says nothing of its commit.
  *not_written = fired == StatementWatchdog::Fired::kCancelled &&
                 status.code() == absl::StatusCode::kDeadlineExceeded;
  const std::string outcome = *not_written
                                  ? "it was cancelled: nothing was written"
                                  : "its connection was cut: whether it was "
                                    "written is unknown";
  const shop::ErrorFacts facts = {
      {shop::kWrittenFact, *not_written ? shop::kNotWritten : "unknown"}};
  if (callers_bound) {
    return shop::MakeError(
        absl::StatusCode::kDeadlineExceeded, "eventstore",
        kDeadlinePassedReason,
        absl::StrCat("the caller's deadline passed while the append was "
                     "written; ",
                     outcome),
        facts);
  }
  return shop::MakeError(
      absl::StatusCode::kUnavailable, "eventstore", kWriteTimedOutReason,
      absl::StrCat("the append did not finish within the write timeout (",
                   absl::FormatDuration(options_.write_timeout), "); ",
                   outcome),
      facts);
}

absl::StatusOr<AppendResult> EventStore::AppendAlone(
    const std::string& stream, const ExpectedVersion& expected,
    const std::vector<EventData>& events, const SnapshotWrite* snapshot,
    absl::Time deadline) {
  const std::string name =
      absl::StrCat(prefix_, "append_", KindName(expected.kind()));
  const std::string sql = AppendSql(schema_, expected.kind());
  const AppendParams params = ParamsOf(events, snapshot);
  AppendResult result;
  bool refused = false;
  bool id_conflict = false;
  bool not_written;
  absl::Status status = RunWrite(
      deadline, {&stream},
      [&](Connection& connection) {
        connection.Prepare(name, sql);
        bool violated = false;
        {
          // One statement in autocommit: atomic, and one round trip.
          pqxx::nontransaction tx(connection.raw());
          try {
            pqxx::result rows =
                expected.kind() == ExpectedVersion::Kind::kExact
                    ? tx.exec_prepared(name, stream, params.count,
                                       params.SnapshotArg(), params.DueAtArg(),
                                       params.ids, params.types, params.data,
                                       params.metadata, params.keep_due_at,
                                       expected.version())
                    : tx.exec_prepared(name, stream, params.count,
                                       params.SnapshotArg(), params.DueAtArg(),
                                       params.ids, params.types, params.data,
                                       params.metadata, params.keep_due_at);
            if (rows.empty()) {
              refused = true;
            } else {
              result = internal::LastOf(rows);
            }
          } catch (const pqxx::unique_violation&) {
            violated = true;
          }
        }
        if (!violated) return absl::OkStatus();
        const std::optional<std::string> constraint =
            RefusingConstraint(connection, sql, stream, expected, params);
        if (constraint.has_value() &&
            *constraint != internal::kEventIdConstraint) {
          // A service's own uniqueness rule refused the events.
          return shop::MakeError(
              absl::StatusCode::kAlreadyExists, "eventstore",
              kUniqueViolationReason,
              absl::StrCat("append to ", stream, " refused by ", *constraint),
              {{"stream", stream}, {"constraint", *constraint}});
        }
        // An event id is already stored (most likely a retry of this append),
        // or what refused it is gone: the stream says which.
        refused = true;
        id_conflict = true;
        return absl::OkStatus();
      },
      &not_written);
  if (!status.ok()) return status;
  if (refused) {
    return ResolveRefusedAppend(stream, expected, events, id_conflict);
  }
  NoteCommitted(result.position.transaction_id);
  return result;
}

std::optional<std::string> EventStore::RefusingConstraint(
    Connection& connection, const std::string& sql, const std::string& stream,
    const ExpectedVersion& expected, const AppendParams& params) {
  const std::string name = prefix_ + "refusing_constraint";
  connection.Prepare(name, RefusingConstraintSql(schema_));
  pqxx::nontransaction tx(connection.raw());
  const pqxx::result rows =
      expected.kind() == ExpectedVersion::Kind::kExact
          ? tx.exec_prepared(
                name, sql, stream, params.count, params.SnapshotArg(),
                params.DueAtArg(), params.ids, params.types, params.data,
                params.metadata, params.keep_due_at, expected.version())
          : tx.exec_prepared(name, sql, stream, params.count,
                             params.SnapshotArg(), params.DueAtArg(),
                             params.ids, params.types, params.data,
                             params.metadata, params.keep_due_at,
                             static_cast<const char*>(nullptr));
  if (rows.empty() || rows[0][0].is_null()) return std::nullopt;
  return rows[0][0].as<std::string>();
}

}  // namespace eventstore
