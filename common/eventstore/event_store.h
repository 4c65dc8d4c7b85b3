#pragma once

// The event store's API: events, appends with expectations, group commit
// options, reads, and LoadStream. Its parts live in event_store.cc (append),
// group_commit.cc (the batching machine), merged_append.cc (its statement),
// refused_append.cc, reads.cc and load_stream.cc.

#include <compare>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/eventstore/append_types.h"
#include "common/eventstore/connection_pool.h"
#include "common/eventstore/expected_version.h"
#include "common/eventstore/group_commit.h"
#include "common/eventstore/uuid.h"
#include "common/eventstore/write_watch.h"
#include "common/metrics/metrics.h"

namespace eventstore {

// Who and why, stored as the event's JSON metadata.
struct Metadata {
  std::string correlation_id;
  std::string causation_id;
  std::string caused_by;
  // The end user an authenticated caused_by acted for, when it may say so.
  std::string on_behalf_of;
  std::string request_id;
  // Whether caused_by is a certificate's identity rather than a claim (not
  // stored: on_behalf_of says the rest).
  bool caused_by_verified = false;

  // JSON object with the non-empty fields, camelCase keys.
  std::string ToJson() const;
};

// Who is asking, and what they believe the stream's version is (when set,
// a command on any other version is refused with WRONG_EXPECTED_VERSION).
struct CommandContext {
  Metadata metadata;
  std::optional<int64_t> expected_version;
  // The caller's deadline: an append still unwritten then is not written.
  std::optional<absl::Time> deadline;
};

// The one retry policy of a command whose append lost a race: attempt 1 is
// the first decision; after a refusal, Again() backs off and says whether
// to decide again (only a version conflict the caller did not pin, and at
// most `max_attempts` attempts in all). Once it says no, Answer() is what
// the caller returns: the refusal itself, or ABORTED CONCURRENCY_CONFLICT.
//   AppendRetry retry(max_attempts);
//   do { status = DecideAndAppend(); if (status.ok()) return ...; }
//   while (retry.Again(status, context));
//   return retry.Answer(status, domain, stream);
class AppendRetry final {
 public:
  explicit AppendRetry(int max_attempts) : max_attempts_(max_attempts) {}

  bool Again(const absl::Status& status, const CommandContext& context);
  // Counts an attempt lost without a conflict (no backoff: nobody else is
  // writing); false once the attempts are used up.
  bool Spend();
  absl::Status Answer(const absl::Status& status, absl::string_view domain,
                      const std::string& stream) const;
  // Attempts made so far (1 before the first Again()).
  int attempts() const { return attempts_; }

 private:
  const int max_attempts_;
  int attempts_ = 1;
  bool exhausted_ = false;
};

// Domain events as EventData, each with a new id and the same metadata.
template <typename Event, typename TypeOfFn, typename ToJsonFn>
std::vector<EventData> NewEventData(const std::vector<Event>& events,
                                    const Metadata& metadata, TypeOfFn type_of,
                                    ToJsonFn to_json) {
  const std::string metadata_json = metadata.ToJson();
  std::vector<EventData> data;
  data.reserve(events.size());
  for (const Event& event : events) {
    data.push_back({NewUuid(), std::string(type_of(event)), to_json(event),
                    metadata_json});
  }
  return data;
}

// The history at one moment. ReadAll from `safe` gives every event that
// had not committed then, but also, until `last`, some that had (their
// transaction ended while an older one still ran): Committed() tells them.
struct CommitHorizon {
  GlobalPosition safe;  // ReadAllEnd then
  GlobalPosition last;  // the last event committed then
  // The moment's snapshot: transactions below xmin had ended, those from
  // xmax on had not begun, `running` were in progress.
  uint64_t xmin = 0;
  uint64_t xmax = 0;
  std::vector<uint64_t> running;

  // Whether events of `transaction_id` had committed at that moment.
  bool Committed(uint64_t transaction_id) const;
};
// Parses PostgreSQL's text form of a snapshot, "xmin:xmax:xip,xip,...".
bool ParseSnapshot(absl::string_view text, CommitHorizon* horizon);

struct RecordedEvent {
  std::string stream_id;
  int64_t version = 0;
  GlobalPosition position;
  std::string event_id;
  std::string type;
  std::string data_json;
  std::string metadata_json;
  absl::Time recorded_at;
};

// Which events of one stream a filtered read returns (all when empty).
struct StreamFilter {
  // Only events of these types.
  std::vector<std::string> types;
  // Only events recorded at or after `from_time` and before `to_time`.
  std::optional<absl::Time> from_time;
  std::optional<absl::Time> to_time;
  // Only events whose data `tag_function` (a SQL function jsonb -> text[]
  // that the service's migrations created in its schema) maps to a list
  // holding `tag`: the service says what an event is about.
  std::string tag_function;
  std::string tag;
  // Newest first, from `from_version` down (the end when <= 0).
  bool backward = false;
};

// One stream's part of an AppendMany.
struct StreamAppend {
  std::string stream;
  ExpectedVersion expected = ExpectedVersion::Any();
  std::vector<EventData> events;
  std::optional<SnapshotWrite> snapshot;
};

// A stream's version and its latest snapshot.
struct StreamHead {
  int64_t version = 0;  // 0: the stream does not exist
  std::string snapshot_json;
  // Version the snapshot reflects; events after it must be folded on top.
  int64_t snapshot_version = 0;
};

// Group commit: one commit and round trip serve many concurrent appends.
struct EventStoreOptions {
  // Most appends merged into one statement; 1 turns group commit off.
  int max_batch = 1;
  // Callers queue only while this many batches run (1..pool size): idle
  // appends never wait. One measured best: the queue fills while it commits
  // (BENCHMARKS.md).
  int max_in_flight = 1;
  // Bound on one append's statement: then it is cancelled, and a second
  // later its connection cut (UNAVAILABLE / WRITE_TIMED_OUT). Its streams
  // are then written alone, beside the batches, until one gets through in
  // time, so one stuck stream does not hold the others' writes.
  absl::Duration write_timeout = absl::Seconds(3);
};

struct DueSummary {
  int64_t scheduled = 0;
  int64_t due = 0;
  absl::Duration oldest_due_for = absl::ZeroDuration();
};

// The PostgreSQL event store of one service, living in schema `schema`.
class EventStore final {
 public:
  static constexpr int kMaxEventsPerAppend = eventstore::kMaxEventsPerAppend;
  static constexpr int kMaxReadCount = 10000;

  // `schema` must already be migrated (see migrations.h).
  EventStore(ConnectionPool* pool, std::string schema,
             EventStoreOptions options = {});
  // Answers the appends still queued first.
  ~EventStore();

  // Appends `events` atomically if `expected` holds; otherwise writes
  // nothing and returns WRONG_EXPECTED_VERSION (ABORTED). Appending events
  // whose ids are already in the stream succeeds without writing. A unique
  // index the service added refuses with ALREADY_EXISTS / UNIQUE_VIOLATION.
  // With max_batch > 1, exact versions may share other callers' statement.
  // An append not written by `deadline` is not written at all
  // (APPEND_DEADLINE_PASSED).
  absl::StatusOr<AppendResult> Append(
      const std::string& stream, const ExpectedVersion& expected,
      const std::vector<EventData>& events,
      const SnapshotWrite* snapshot = nullptr,
      absl::Time deadline = absl::InfiniteFuture());
  // Append without a thread waiting for it: `done` gets what Append would
  // return, on a thread of the store (or on this one, for input refused
  // before any write, and UNAVAILABLE once the store is being destroyed).
  // Callbacks delay the statements behind them: they must not block.
  void AppendAsync(std::string stream, ExpectedVersion expected,
                   std::vector<EventData> events,
                   std::optional<SnapshotWrite> snapshot, AppendCallback done,
                   absl::Time deadline = absl::InfiniteFuture());

  // Appends to every stream in one transaction, each only if its own
  // expectation holds: all are written or none (the first refusal is the
  // answer). Streams and event ids must be distinct. A retry of an append
  // that committed is a duplicate on every stream. Never group-committed.
  absl::StatusOr<std::vector<AppendResult>> AppendMany(
      const std::vector<StreamAppend>& appends,
      absl::Time deadline = absl::InfiniteFuture());

  absl::StatusOr<StreamHead> ReadHead(const std::string& stream);

  // Events with version >= from_version, oldest first.
  absl::StatusOr<std::vector<RecordedEvent>> ReadStreamForward(
      const std::string& stream, int64_t from_version, int max_count);
  // Events with version <= from_version (the end when from_version <= 0),
  // newest first.
  absl::StatusOr<std::vector<RecordedEvent>> ReadStreamBackward(
      const std::string& stream, int64_t from_version, int max_count);
  // The stream as it stood at `as_of`: events recorded then or earlier,
  // with version >= from_version, oldest first.
  absl::StatusOr<std::vector<RecordedEvent>> ReadStreamAsOf(
      const std::string& stream, absl::Time as_of, int64_t from_version,
      int max_count);

  // The events of `stream` that `filter` keeps, from `from_version` on (or
  // down, when backward). Index-backed: the time range is turned into a
  // version range first, the rest is filtered along the stream's index.
  absl::StatusOr<std::vector<RecordedEvent>> ReadStreamFiltered(
      const std::string& stream, int64_t from_version,
      const StreamFilter& filter, int max_count);

  // Events of every stream whose metadata's correlationId is
  // `correlation_id`, after `after`, in (transaction_id, position) order
  // (index events_correlation). Unlike ReadAll it does not hold back events
  // behind running transactions: a forensic page shows what has committed.
  absl::StatusOr<std::vector<RecordedEvent>> ReadByCorrelation(
      const std::string& correlation_id, GlobalPosition after, int max_count);

  // Events of every stream after `after`, in commit-safe order: an event is
  // returned only once no transaction that could still commit an event
  // before it is running, so a reader never skips a late commit.
  absl::StatusOr<std::vector<RecordedEvent>> ReadAll(GlobalPosition after,
                                                     int max_count);
  // The last event ReadAll can return now (zero when there is none).
  absl::StatusOr<GlobalPosition> ReadAllEnd();
  // What has committed at this moment (see CommitHorizon).
  absl::StatusOr<CommitHorizon> ReadHorizon();

  // Called, on the committing thread, with the transaction id of every
  // append that wrote events (a duplicate writes none). Set before the
  // first append; it must not block (the feed only notes the id).
  void SetCommitObserver(
      absl::AnyInvocable<void(uint64_t transaction_id)> observer) {
    committed_ = std::move(observer);
  }

  // Streams whose snapshot asked for attention at or before `now`.
  absl::StatusOr<std::vector<std::string>> StreamsDue(absl::Time now,
                                                      int max_count);
  // How many streams asked for attention at some time, how many of them
  // are due at `now`, and how long the oldest due one has waited.
  absl::StatusOr<DueSummary> SummarizeDue(absl::Time now);

  const std::string& schema() const { return schema_; }
  ConnectionPool& pool() { return *pool_; }

  GroupCommitStats group_commit_stats() const { return group_.stats(); }
  // How long the oldest write statement in progress has run (zero when
  // none is): readiness turns NOT_SERVING when writes do not get through.
  absl::Duration OldestWriteAge() const { return writes_.OldestAge(); }
  // When the last write statement timed out, unless one finished in time
  // since.
  std::optional<absl::Time> UnansweredWriteTimeout() const {
    return writes_.UnansweredTimeout();
  }
  // Waits for >= `in_flight` batches and `queued` waiting appends (tests).
  bool AwaitGroupCommit(int in_flight, int queued, absl::Duration timeout) {
    return group_.AwaitBusy(in_flight, queued, timeout);
  }
  // Waits until the destructor has begun to refuse new appends (tests).
  bool AwaitClosing(absl::Duration timeout) {
    return group_.AwaitClosing(timeout);
  }

 private:
  // The store's statements, as group commit runs them.
  class Writer final : public GroupWriter {
   public:
    explicit Writer(EventStore& store) : store_(store) {}
    absl::StatusOr<AppendResult> WriteAlone(const AppendArgs& append) override;
    Merged WriteMerged(const std::vector<AppendArgs>& batch,
                       absl::Time deadline) override;
    absl::StatusOr<AppendResult> ResolveRefused(
        const AppendArgs& append) override;

   private:
    EventStore& store_;
  };

  // The single-statement append, after validation.
  absl::StatusOr<AppendResult> AppendAlone(const std::string& stream,
                                           const ExpectedVersion& expected,
                                           const std::vector<EventData>& events,
                                           const SnapshotWrite* snapshot,
                                           absl::Time deadline);
  // Runs `fn` as one write: watched, and bounded by the write timeout and
  // the callers' `deadline`. Past the bound the answer is a timeout (see
  // kWriteTimedOutReason) and `streams` are written alone from then on.
  absl::Status RunWrite(absl::Time deadline,
                        const std::vector<const std::string*>& streams,
                        absl::FunctionRef<absl::Status(Connection&)> fn,
                        bool* not_written);

  // The parameters of a single-stream append (see append_sql.h).
  struct AppendParams {
    int64_t count = 0;
    std::optional<std::string> snapshot_json;
    std::optional<std::string> due_at;
    std::string ids, types, data, metadata;
    bool keep_due_at = true;

    // NULL when absent.
    const char* SnapshotArg() const {
      return snapshot_json.has_value() ? snapshot_json->c_str() : nullptr;
    }
    const char* DueAtArg() const {
      return due_at.has_value() ? due_at->c_str() : nullptr;
    }
  };
  static AppendParams ParamsOf(const std::vector<EventData>& events,
                               const SnapshotWrite* snapshot);
  // The unique constraint that refuses append `sql` with these arguments,
  // from the error's fields (after a unique violation); none if nothing
  // refuses it any more.
  std::optional<std::string> RefusingConstraint(Connection& connection,
                                                const std::string& sql,
                                                const std::string& stream,
                                                const ExpectedVersion& expected,
                                                const AppendParams& params);

  // Looks at the stream after a refused append: a duplicate of events
  // already there is success, anything else is WRONG_EXPECTED_VERSION.
  absl::StatusOr<AppendResult> ResolveRefusedAppend(
      const std::string& stream, const ExpectedVersion& expected,
      const std::vector<EventData>& events, bool id_conflict);

  // Events matching `where` (which ends with the LIMIT placeholder that
  // `max_count` fills, after `params`), through prepared statement `name`.
  template <typename... Params>
  absl::StatusOr<std::vector<RecordedEvent>> QueryEvents(
      const std::string& name, absl::string_view where, int max_count,
      const Params&... params);

  // Tells the observer, if any, that `transaction_id` committed events.
  void NoteCommitted(uint64_t transaction_id) {
    if (committed_) committed_(transaction_id);
  }

  ConnectionPool* pool_;
  std::string schema_;
  // Statement names carry the schema: a pool may serve several stores.
  std::string prefix_;
  const EventStoreOptions options_;

  shop::metrics::Histogram* const batch_sizes_;
  shop::metrics::Counter* const timeouts_;
  shop::metrics::Counter* const expired_;
  WriteWatch writes_;
  absl::AnyInvocable<void(uint64_t)> committed_;
  Writer writer_{*this};
  // Last: its threads use all of the above, so it goes first.
  GroupCommit group_;
};

// Rebuilds a stream's state: `restore` gets the snapshot (if any), then
// `apply` gets each event recorded after it. Returns the stream's version
// (0 when it does not exist, in which case neither is called) and, through
// `snapshot_version` when given, the version its stored snapshot reflects.
absl::StatusOr<int64_t> LoadStream(
    EventStore& store, const std::string& stream,
    absl::FunctionRef<absl::Status(const std::string& snapshot_json)> restore,
    absl::FunctionRef<absl::Status(const RecordedEvent& event)> apply,
    int64_t* snapshot_version = nullptr);

// Whether `schema` is a plain lower-case SQL identifier.
bool IsValidSchemaName(const std::string& schema);

}  // namespace eventstore
