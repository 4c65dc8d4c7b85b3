#include "common/eventstore/event_store.h"

#include <algorithm>
#include <limits>
#include <memory>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "common/errors/errors.h"
#include "common/eventstore/uuid.h"
#include "common/util/proto_json.h"

namespace eventstore {
namespace {

constexpr size_t kMaxTypeLength = 128;

// Adds one quoted element to a PostgreSQL array literal being built.
void AddElement(std::string& out, absl::string_view element) {
  if (out.size() > 1) out.push_back(',');
  out.push_back('"');
  out += absl::StrReplaceAll(element, {{"\\", "\\\\"}, {"\"", "\\\""}});
  out.push_back('"');
}

// Adds a NULL element to a PostgreSQL array literal being built.
void AddNull(std::string& out) {
  if (out.size() > 1) out.push_back(',');
  out += "NULL";
}

// A PostgreSQL array literal of quoted elements: {"a","b\"c"}.
std::string ArrayLiteral(const std::vector<EventData>& events,
                         std::string EventData::*field) {
  std::string out = "{";
  for (const EventData& event : events) AddElement(out, event.*field);
  out.push_back('}');
  return out;
}

std::string FormatTimestamp(absl::Time t) {
  return absl::FormatTime(absl::RFC3339_full, t, absl::UTCTimeZone());
}

// Columns every read returns, in the order RowToEvent expects.
constexpr char kEventColumns[] =
    "stream_id, version, transaction_id::text, position, event_id::text, "
    "type, data::text, metadata::text, "
    "(extract(epoch FROM recorded_at) * 1000000)::bigint";

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

absl::Status ValidateCount(int max_count) {
  if (max_count <= 0 || max_count > EventStore::kMaxReadCount) {
    return absl::InvalidArgumentError(absl::StrCat("max_count must be 1 to ",
                                                   EventStore::kMaxReadCount,
                                                   ", got ", max_count));
  }
  return absl::OkStatus();
}

// The snapshot columns after an append that adds `count` events to row `s`,
// with `new_snapshot` the parsed $3: a new snapshot replaces the old one, no
// snapshot keeps it (it stays valid: readers fold newer events on top). The
// due time is replaced unless `keep_due_at` says the caller wrote no snapshot
// at all.
std::string SnapshotUpdate(absl::string_view new_snapshot,
                           absl::string_view new_due_at,
                           absl::string_view keep_due_at,
                           absl::string_view count = "$2::bigint") {
  return absl::StrCat("snapshot = COALESCE(", new_snapshot, ", s.snapshot), ",
                      "snapshot_version = CASE WHEN ", new_snapshot,
                      " IS NULL THEN s.snapshot_version ELSE s.version + ",
                      count, " END, ", "due_at = CASE WHEN ", keep_due_at,
                      " THEN s.due_at ELSE ", new_due_at, " END");
}

// One statement per expectation kind: it moves the stream row forward only
// if the expectation holds (the row lock serializes writers of a stream)
// and inserts the events numbered from the new version. Zero rows back
// means the expectation failed and nothing was written. The snapshot
// parameter is parsed once, in `p`: it can be large.
std::string AppendSql(const std::string& schema, ExpectedVersion::Kind kind) {
  constexpr absl::string_view kParsed =
      "(SELECT $3::jsonb AS snapshot, $4::timestamptz AS due_at, "
      "$9::boolean AS keep_due_at) AS p";
  std::string insert_stream = absl::StrCat(
      "INSERT INTO ", schema,
      ".streams AS s (stream_id, version, snapshot, snapshot_version, due_at) "
      "SELECT $1, $2::bigint, p.snapshot, CASE WHEN p.snapshot IS NULL THEN 0 "
      "ELSE $2::bigint END, p.due_at FROM ",
      kParsed, " ON CONFLICT (stream_id) ");
  const std::string update_stream = absl::StrCat(
      "UPDATE ", schema, ".streams AS s SET version = s.version + $2::bigint, ",
      SnapshotUpdate("p.snapshot", "p.due_at", "p.keep_due_at"), " FROM ",
      kParsed, " WHERE s.stream_id = $1");
  std::string head;
  switch (kind) {
    case ExpectedVersion::Kind::kAny:
      head = absl::StrCat(insert_stream,
                          "DO UPDATE SET version = s.version + $2::bigint, ",
                          SnapshotUpdate("excluded.snapshot", "excluded.due_at",
                                         "$9::boolean"));
      break;
    case ExpectedVersion::Kind::kNoStream:
      head = absl::StrCat(insert_stream, "DO NOTHING");
      break;
    case ExpectedVersion::Kind::kStreamExists:
      head = update_stream;
      break;
    case ExpectedVersion::Kind::kExact:
      head = absl::StrCat(update_stream, " AND s.version = $10::bigint");
      break;
  }
  return absl::StrCat(
      "WITH head AS (", head, " RETURNING s.version) INSERT INTO ", schema,
      ".events (stream_id, version, event_id, type, data, metadata) "
      "SELECT $1, head.version - $2::bigint + e.n, e.id, e.type, e.data, "
      "e.metadata FROM head, unnest($5::uuid[], $6::text[], $7::jsonb[], "
      "$8::jsonb[]) WITH ORDINALITY AS e(id, type, data, metadata, n) "
      "RETURNING version, transaction_id::text, position");
}

// Group commit: only heads whose expectation holds move and get events.
std::string MergedAppendSql(const std::string& schema) {
  return absl::StrCat(
      "WITH head AS (UPDATE ", schema,
      ".streams AS s SET version = s.version + r.n, ",
      SnapshotUpdate("r.snapshot", "r.due_at", "r.keep_due_at", "r.n"),
      " FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::jsonb[], "
      "$5::timestamptz[], $6::boolean[]) WITH ORDINALITY AS r(stream_id, "
      "expected, n, snapshot, due_at, keep_due_at, i) "
      "WHERE s.stream_id = r.stream_id AND s.version = r.expected "
      "RETURNING r.i, s.stream_id, s.version, r.n) INSERT INTO ",
      schema,
      ".events (stream_id, version, event_id, type, data, metadata) "
      "SELECT head.stream_id, head.version - head.n + e.ordinal, e.id, "
      "e.type, e.data, e.metadata FROM head JOIN unnest($7::bigint[], "
      "$8::bigint[], $9::uuid[], $10::text[], $11::jsonb[], $12::jsonb[]) "
      "AS e(i, ordinal, id, type, data, metadata) ON e.i = head.i "
      // Positions then grow with versions within each stream.
      "ORDER BY e.i, e.ordinal "
      "RETURNING stream_id, version, transaction_id::text, position");
}

// The constraint named in a unique-violation message, or "".
std::string ConstraintOf(absl::string_view message) {
  constexpr absl::string_view kMarker = "unique constraint \"";
  size_t start = message.find(kMarker);
  if (start == absl::string_view::npos) return "";
  start += kMarker.size();
  size_t end = message.find('"', start);
  if (end == absl::string_view::npos) return "";
  return std::string(message.substr(start, end - start));
}

const char* KindName(ExpectedVersion::Kind kind) {
  switch (kind) {
    case ExpectedVersion::Kind::kAny:
      return "any";
    case ExpectedVersion::Kind::kNoStream:
      return "no_stream";
    case ExpectedVersion::Kind::kStreamExists:
      return "stream_exists";
    case ExpectedVersion::Kind::kExact:
      return "exact";
  }
  return "?";
}

AppendResult LastOf(const pqxx::result& rows) {
  AppendResult result;
  for (const pqxx::row& row : rows) {
    int64_t version = row[0].as<int64_t>();
    if (version >= result.version) {
      result.version = version;
      result.position.transaction_id = row[1].as<uint64_t>();
      result.position.position = row[2].as<int64_t>();
    }
  }
  return result;
}

}  // namespace

std::string Metadata::ToJson() const {
  std::string json = "{";
  auto put = [&json](absl::string_view key, const std::string& value) {
    if (value.empty()) return;
    if (json.size() > 1) json.push_back(',');
    absl::StrAppend(&json, "\"", key, "\":");
    shop::AppendJsonString(value, &json);
  };
  put("correlationId", correlation_id);
  put("causationId", causation_id);
  put("causedBy", caused_by);
  put("requestId", request_id);
  json.push_back('}');
  return json;
}

bool ShouldRetryAppend(const absl::Status& status,
                       const CommandContext& context) {
  return AsWrongExpectedVersion(status).has_value() &&
         !context.expected_version.has_value();
}

absl::Status ConflictsExhausted(absl::string_view domain,
                                const std::string& stream, int attempts) {
  return shop::MakeError(absl::StatusCode::kAborted, domain,
                         "CONCURRENCY_CONFLICT",
                         absl::StrCat(stream, " kept changing: gave up after ",
                                      attempts, " attempts; retry the call"),
                         {{"stream", stream}});
}

absl::StatusOr<int64_t> LoadStream(
    EventStore& store, const std::string& stream,
    absl::FunctionRef<absl::Status(const std::string& snapshot_json)> restore,
    absl::FunctionRef<absl::Status(const RecordedEvent& event)> apply,
    int64_t* snapshot_version) {
  absl::StatusOr<StreamHead> head = store.ReadHead(stream);
  if (!head.ok()) return head.status();
  if (snapshot_version != nullptr) *snapshot_version = head->snapshot_version;
  if (head->version == 0) return 0;
  if (!head->snapshot_json.empty()) {
    if (absl::Status status = restore(head->snapshot_json); !status.ok()) {
      return status;
    }
  }
  // Events appended without a snapshot are folded on top of the last one.
  int64_t version = head->snapshot_version;
  while (version < head->version) {
    absl::StatusOr<std::vector<RecordedEvent>> page =
        store.ReadStreamForward(stream, version + 1, 1000);
    if (!page.ok()) return page.status();
    if (page->empty()) break;
    for (const RecordedEvent& event : *page) {
      // An append after the head was read stays out: state and version agree.
      if (event.version > head->version) return head->version;
      if (absl::Status status = apply(event); !status.ok()) return status;
      version = event.version;
    }
  }
  return head->version;
}

bool IsValidSchemaName(const std::string& schema) {
  if (schema.empty() || schema.size() > 63) return false;
  if (!(schema[0] == '_' || (schema[0] >= 'a' && schema[0] <= 'z'))) {
    return false;
  }
  return std::all_of(schema.begin(), schema.end(), [](char c) {
    return c == '_' || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
  });
}

// One append while it waits for, or rides in, a group commit.
struct EventStore::PendingAppend {
  enum class State {
    kQueued,      // waiting for a batch
    kTaken,       // in a batch being written
    kDone,        // `result` is the answer
    kRefused,     // not written: the caller resolves it on its own
    kRetryAlone,  // the merged statement failed: the caller appends alone
  };

  // What an append nobody waits for keeps of its own.
  struct Owned {
    std::string stream;
    ExpectedVersion expected;
    std::vector<EventData> events;
    std::optional<SnapshotWrite> snapshot;
  };

  PendingAppend(const std::string& stream, const ExpectedVersion& expected,
                const std::vector<EventData>& events,
                const SnapshotWrite* snapshot)
      : stream(&stream),
        expected(&expected),
        events(&events),
        snapshot(snapshot) {}
  PendingAppend(Owned owned_data, AppendCallback done)
      : owned(std::make_unique<Owned>(std::move(owned_data))),
        stream(&owned->stream),
        expected(&owned->expected),
        events(&owned->events),
        snapshot(owned->snapshot.has_value() ? &*owned->snapshot : nullptr),
        done(std::move(done)) {}

  // Exact versions of existing streams; other kinds may create the stream,
  // which the merged UPDATE cannot express.
  bool mergeable() const {
    return expected->kind() == ExpectedVersion::Kind::kExact &&
           expected->version() > 0;
  }
  bool waited_for() const { return owned == nullptr; }

  std::unique_ptr<Owned> owned;
  const std::string* stream;
  const ExpectedVersion* expected;
  const std::vector<EventData>* events;
  const SnapshotWrite* snapshot;
  AppendCallback done;
  State state = State::kQueued;
  absl::StatusOr<AppendResult> result = absl::UnknownError("not answered");
};

namespace {

EventStoreOptions Clamped(EventStoreOptions options, int pool_size) {
  options.max_batch = std::max(options.max_batch, 1);
  // More statements in flight than connections would only queue in the pool.
  options.max_in_flight =
      std::clamp(options.max_in_flight, 1, std::max(pool_size, 1));
  return options;
}

}  // namespace

EventStore::EventStore(ConnectionPool* pool, std::string schema,
                       EventStoreOptions options)
    : pool_(pool),
      schema_(std::move(schema)),
      prefix_(schema_ + "_"),
      options_(Clamped(options, pool->size())) {}

EventStore::~EventStore() {
  std::vector<std::thread> writers;
  {
    absl::MutexLock lock(&batch_mu_);
    stopping_ = true;
    writers.swap(writers_);
  }
  for (std::thread& writer : writers) writer.join();
}

GroupCommitStats EventStore::group_commit_stats() const {
  absl::MutexLock lock(&batch_mu_);
  return stats_;
}

bool EventStore::AwaitGroupCommit(int in_flight, int queued,
                                  absl::Duration timeout) {
  absl::MutexLock lock(&batch_mu_);
  auto reached = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(batch_mu_) {
    return in_flight_ >= in_flight && static_cast<int>(queue_.size()) >= queued;
  };
  return batch_mu_.AwaitWithTimeout(absl::Condition(&reached), timeout);
}

absl::StatusOr<AppendResult> EventStore::Append(
    const std::string& stream, const ExpectedVersion& expected,
    const std::vector<EventData>& events, const SnapshotWrite* snapshot) {
  if (absl::Status valid = ValidateEvents(events); !valid.ok()) return valid;
  if (stream.empty()) return absl::InvalidArgumentError("stream id is empty");
  PendingAppend pending(stream, expected, events, snapshot);
  if (options_.max_batch > 1 && pending.mergeable()) {
    return AppendGrouped(pending);
  }
  return AppendAlone(stream, expected, events, snapshot);
}

void EventStore::AppendAsync(std::string stream, ExpectedVersion expected,
                             std::vector<EventData> events,
                             std::optional<SnapshotWrite> snapshot,
                             AppendCallback done) {
  if (absl::Status valid = ValidateEvents(events); !valid.ok()) {
    std::move(done)(valid);
    return;
  }
  if (stream.empty()) {
    std::move(done)(absl::InvalidArgumentError("stream id is empty"));
    return;
  }
  {
    absl::MutexLock lock(&batch_mu_);
    if (!stopping_) {
      if (writers_.empty()) {
        for (int i = 0; i <= options_.max_in_flight; ++i) {
          writers_.emplace_back([this] { WriteQueued(); });
        }
      }
      queue_.push_back(new PendingAppend(
          {std::move(stream), expected, std::move(events), std::move(snapshot)},
          std::move(done)));
      ++unwaited_;
      return;
    }
  }
  // Closing: the writers drain what was queued and take nothing new.
  std::move(done)(absl::UnavailableError("the event store is closing"));
}

void EventStore::WriteQueued() {
  for (;;) {
    std::vector<PendingAppend*> batch;
    {
      absl::MutexLock lock(&batch_mu_);
      auto ready = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(batch_mu_) {
        return unwaited_ > 0 ? in_flight_ < options_.max_in_flight : stopping_;
      };
      batch_mu_.Await(absl::Condition(&ready));
      if (unwaited_ == 0) return;
      auto first = std::find_if(
          queue_.begin(), queue_.end(),
          [](const PendingAppend* queued) { return !queued->waited_for(); });
      batch = TakeBatch(*first);
    }
    Complete(WriteBatch(std::move(batch)));
  }
}

std::vector<EventStore::PendingAppend*> EventStore::TakeBatch(
    PendingAppend* first) {
  ++in_flight_;
  std::vector<PendingAppend*> batch = {first};
  // With group commit off, or for an append that may create its stream,
  // the batch is the one append.
  const bool merge = options_.max_batch > 1 && first->mergeable();
  // A statement carries at most as many events as one append may.
  size_t events = first->events->size();
  std::deque<PendingAppend*> rest;
  for (PendingAppend* queued : queue_) {
    if (queued == first) continue;
    const bool same_stream = std::any_of(
        batch.begin(), batch.end(), [&](const PendingAppend* taken) {
          return *taken->stream == *queued->stream;
        });
    if (merge && static_cast<int>(batch.size()) < options_.max_batch &&
        queued->mergeable() && !same_stream &&
        events + queued->events->size() <= kMaxEventsPerAppend) {
      batch.push_back(queued);
      events += queued->events->size();
    } else {
      rest.push_back(queued);
    }
  }
  queue_ = std::move(rest);
  for (PendingAppend* taken : batch) {
    taken->state = PendingAppend::State::kTaken;
    if (!taken->waited_for()) --unwaited_;
  }
  ++stats_.batches;
  stats_.batched_appends += static_cast<int64_t>(batch.size());
  return batch;
}

absl::StatusOr<AppendResult> EventStore::AppendGrouped(PendingAppend& pending) {
  std::vector<PendingAppend*> batch;
  {
    absl::MutexLock lock(&batch_mu_);
    queue_.push_back(&pending);
    auto may_go = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(batch_mu_) {
      return pending.state != PendingAppend::State::kQueued ||
             in_flight_ < options_.max_in_flight;
    };
    batch_mu_.Await(absl::Condition(&may_go));
    if (pending.state == PendingAppend::State::kQueued) {
      // Free slot, not taken: lead the oldest appends, one per stream.
      batch = TakeBatch(&pending);
    } else {
      auto answered = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(batch_mu_) {
        return pending.state != PendingAppend::State::kTaken;
      };
      batch_mu_.Await(absl::Condition(&answered));
    }
  }
  // The leader no longer touches a follower once it is settled.
  if (!batch.empty()) Complete(WriteBatch(std::move(batch)));
  return AnswerOf(pending);
}

std::vector<EventStore::PendingAppend*> EventStore::WriteBatch(
    std::vector<PendingAppend*> batch) {
  if (batch.size() > 1) return WriteMerged(batch);
  // Alone, the cheaper single statement is the same write.
  PendingAppend& only = *batch[0];
  absl::StatusOr<AppendResult> result =
      AppendAlone(*only.stream, *only.expected, *only.events, only.snapshot);
  absl::MutexLock lock(&batch_mu_);
  only.result = std::move(result);
  only.state = PendingAppend::State::kDone;
  return Settle(batch);
}

std::vector<EventStore::PendingAppend*> EventStore::Settle(
    const std::vector<PendingAppend*>& batch) {
  --in_flight_;
  std::vector<PendingAppend*> unwaited;
  for (PendingAppend* append : batch) {
    if (!append->waited_for()) unwaited.push_back(append);
  }
  return unwaited;
}

absl::StatusOr<AppendResult> EventStore::AnswerOf(PendingAppend& pending) {
  switch (pending.state) {
    case PendingAppend::State::kRefused:
      return ResolveRefusedAppend(*pending.stream, *pending.expected,
                                  *pending.events, /*id_conflict=*/false);
    case PendingAppend::State::kRetryAlone:
      return AppendAlone(*pending.stream, *pending.expected, *pending.events,
                         pending.snapshot);
    default:
      return std::move(pending.result);
  }
}

void EventStore::Complete(const std::vector<PendingAppend*>& appends) {
  for (PendingAppend* append : appends) {
    std::unique_ptr<PendingAppend> owned(append);
    std::move(owned->done)(AnswerOf(*owned));
  }
}

std::vector<EventStore::PendingAppend*> EventStore::WriteMerged(
    std::vector<PendingAppend*>& batch) {
  using State = PendingAppend::State;
  // One lock order for every writer; a deadlock left is re-run alone below.
  std::sort(batch.begin(), batch.end(),
            [](const PendingAppend* a, const PendingAppend* b) {
              return *a->stream < *b->stream;
            });
  std::string streams = "{", expected = "{", counts = "{", snapshots = "{",
              due_ats = "{", keep_due_ats = "{";
  std::string indexes = "{", ordinals = "{", ids = "{", types = "{", data = "{",
              metadata = "{";
  for (size_t i = 0; i < batch.size(); ++i) {
    const PendingAppend& append = *batch[i];
    const SnapshotWrite* snapshot = append.snapshot;
    AddElement(streams, *append.stream);
    AddElement(expected, absl::StrCat(append.expected->version()));
    AddElement(counts, absl::StrCat(append.events->size()));
    if (snapshot != nullptr && snapshot->json.has_value()) {
      AddElement(snapshots, *snapshot->json);
    } else {
      AddNull(snapshots);
    }
    if (snapshot != nullptr && snapshot->due_at.has_value()) {
      AddElement(due_ats, FormatTimestamp(*snapshot->due_at));
    } else {
      AddNull(due_ats);
    }
    AddElement(keep_due_ats, snapshot == nullptr ? "t" : "f");
    for (size_t n = 0; n < append.events->size(); ++n) {
      const EventData& event = (*append.events)[n];
      AddElement(indexes, absl::StrCat(i + 1));
      AddElement(ordinals, absl::StrCat(n + 1));
      AddElement(ids, event.event_id);
      AddElement(types, event.type);
      AddElement(data, event.data_json);
      AddElement(metadata, event.metadata_json);
    }
  }
  for (std::string* array :
       {&streams, &expected, &counts, &snapshots, &due_ats, &keep_due_ats,
        &indexes, &ordinals, &ids, &types, &data, &metadata}) {
    array->push_back('}');
  }

  const std::string name = prefix_ + "append_merged";
  std::vector<AppendResult> results(batch.size());
  std::vector<bool> written(batch.size(), false);
  absl::Status status = pool_->Run([&](Connection& connection) {
    connection.Prepare(name, MergedAppendSql(schema_));
    pqxx::nontransaction tx(connection.raw());
    pqxx::result rows = tx.exec_prepared(
        name, streams, expected, counts, snapshots, due_ats, keep_due_ats,
        indexes, ordinals, ids, types, data, metadata);
    for (const pqxx::row& row : rows) {
      const std::string stream = row[0].as<std::string>();
      auto it = std::lower_bound(
          batch.begin(), batch.end(), stream,
          [](const PendingAppend* append, const std::string& id) {
            return *append->stream < id;
          });
      if (it == batch.end() || *(*it)->stream != stream) continue;
      const size_t i = static_cast<size_t>(it - batch.begin());
      const int64_t version = row[1].as<int64_t>();
      if (version >= results[i].version) {
        results[i].version = version;
        results[i].position.transaction_id = row[2].as<uint64_t>();
        results[i].position.position = row[3].as<int64_t>();
      }
      written[i] = true;
    }
    return absl::OkStatus();
  });

  absl::MutexLock lock(&batch_mu_);
  ++stats_.merged_statements;
  stats_.merged_appends += static_cast<int64_t>(batch.size());
  // Any failure but a lost server may be one append's fault: re-run alone.
  const bool retry_alone =
      !status.ok() && status.code() != absl::StatusCode::kUnavailable;
  if (retry_alone) ++stats_.merged_fallbacks;
  for (size_t i = 0; i < batch.size(); ++i) {
    PendingAppend& append = *batch[i];
    if (!status.ok()) {
      if (retry_alone) {
        append.state = State::kRetryAlone;
      } else {
        append.result = status;
        append.state = State::kDone;
      }
    } else if (written[i]) {
      append.result = results[i];
      append.state = State::kDone;
    } else {
      append.state = State::kRefused;
    }
  }
  return Settle(batch);
}

absl::StatusOr<AppendResult> EventStore::AppendAlone(
    const std::string& stream, const ExpectedVersion& expected,
    const std::vector<EventData>& events, const SnapshotWrite* snapshot) {
  const std::string name =
      absl::StrCat(prefix_, "append_", KindName(expected.kind()));
  const std::string ids = ArrayLiteral(events, &EventData::event_id);
  const std::string types = ArrayLiteral(events, &EventData::type);
  const std::string data = ArrayLiteral(events, &EventData::data_json);
  const std::string metadata = ArrayLiteral(events, &EventData::metadata_json);
  const bool keep_due_at = snapshot == nullptr;
  const char* snapshot_json = snapshot != nullptr && snapshot->json.has_value()
                                  ? snapshot->json->c_str()
                                  : nullptr;
  std::string due_at_text;
  const char* due_at = nullptr;
  if (snapshot != nullptr && snapshot->due_at.has_value()) {
    due_at_text = FormatTimestamp(*snapshot->due_at);
    due_at = due_at_text.c_str();
  }

  AppendResult result;
  bool refused = false;
  bool id_conflict = false;
  absl::Status status = pool_->Run([&](Connection& connection) {
    connection.Prepare(name, AppendSql(schema_, expected.kind()));
    // One statement in autocommit: atomic, and one round trip.
    pqxx::nontransaction tx(connection.raw());
    try {
      pqxx::result rows =
          expected.kind() == ExpectedVersion::Kind::kExact
              ? tx.exec_prepared(name, stream,
                                 static_cast<int64_t>(events.size()),
                                 snapshot_json, due_at, ids, types, data,
                                 metadata, keep_due_at, expected.version())
              : tx.exec_prepared(name, stream,
                                 static_cast<int64_t>(events.size()),
                                 snapshot_json, due_at, ids, types, data,
                                 metadata, keep_due_at);
      if (rows.empty()) {
        refused = true;
      } else {
        result = LastOf(rows);
      }
    } catch (const pqxx::unique_violation& e) {
      const std::string constraint = ConstraintOf(e.what());
      if (constraint != "events_event_id_key") {
        // A service's own uniqueness rule refused the events.
        return shop::MakeError(
            absl::StatusCode::kAlreadyExists, "eventstore",
            kUniqueViolationReason,
            absl::StrCat("append to ", stream, " refused by ", constraint),
            {{"stream", stream}, {"constraint", constraint}});
      }
      // An event id is already stored: most likely a retry of this append.
      refused = true;
      id_conflict = true;
    }
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  if (refused)
    return ResolveRefusedAppend(stream, expected, events, id_conflict);
  return result;
}

absl::StatusOr<AppendResult> EventStore::ResolveRefusedAppend(
    const std::string& stream, const ExpectedVersion& expected,
    const std::vector<EventData>& events, bool id_conflict) {
  const std::string find_name = prefix_ + "find_event_ids";
  const std::string version_name = prefix_ + "stream_version";
  const std::string ids = ArrayLiteral(events, &EventData::event_id);
  int64_t found = 0;
  int64_t found_elsewhere = 0;
  int64_t actual = 0;
  AppendResult duplicate;
  absl::Status status = pool_->Run([&](Connection& connection) {
    connection.Prepare(
        find_name,
        absl::StrCat("SELECT stream_id = $2 AS here, version, "
                     "transaction_id::text, position FROM ",
                     schema_, ".events WHERE event_id = ANY($1::uuid[])"));
    connection.Prepare(version_name,
                       absl::StrCat("SELECT version FROM ", schema_,
                                    ".streams WHERE stream_id = $1"));
    pqxx::nontransaction tx(connection.raw());
    pqxx::result rows = tx.exec_prepared(find_name, ids, stream);
    pqxx::result same_stream_rows;
    for (const pqxx::row& row : rows) {
      if (row[0].as<bool>()) {
        ++found;
        int64_t version = row[1].as<int64_t>();
        if (version >= duplicate.version) {
          duplicate.version = version;
          duplicate.position.transaction_id = row[2].as<uint64_t>();
          duplicate.position.position = row[3].as<int64_t>();
        }
      } else {
        ++found_elsewhere;
      }
    }
    pqxx::result head = tx.exec_prepared(version_name, stream);
    actual = head.empty() ? 0 : head[0][0].as<int64_t>();
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  if (found == static_cast<int64_t>(events.size())) {
    duplicate.duplicate = true;
    return duplicate;
  }
  if (found_elsewhere > 0) {
    return absl::AlreadyExistsError(absl::StrCat(
        "an event id of this append is already used by another stream than ",
        stream));
  }
  if (id_conflict && found == 0) {
    // The conflicting event was rolled back meanwhile; the caller may retry.
    return absl::AbortedError(
        absl::StrCat("concurrent append with the same event ids on ", stream));
  }
  return WrongExpectedVersionError(stream, expected, actual);
}

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

}  // namespace eventstore
