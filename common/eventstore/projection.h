#pragma once

// A read model kept up to date from the feed inside the service. Each
// projection has a checkpoint row in `{schema}.projections` that moves in
// the same transaction as the model's rows, so a crash never applies an
// event twice or skips one. One replica leads it at a time (a session
// advisory lock on the projection's own connection); the others wait and
// take over when the leader's connection ends. An event the model cannot
// apply stalls the projection there, logged and shown in its status.

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "common/eventstore/event_store.h"
#include "common/eventstore/feed.h"
#include "common/metrics/metrics.h"
#include "pqxx/pqxx"

namespace eventstore {

// Where a read model keeps its rows and how an event changes them.
class ProjectionModel {
 public:
  virtual ~ProjectionModel() = default;
  // Applies `events`, oldest first, inside `tx`; the checkpoint moves past
  // the last one in the same transaction. An error (or a libpqxx
  // exception) stalls the projection at the first event that fails: pages
  // shrink to one event to find it.
  virtual absl::Status Apply(pqxx::work& tx,
                             absl::Span<const RecordedEvent> events) = 0;
};

// Where a model keeps its rows: `rows_schema` (a rebuild's scratch
// schema), or by default beside `events`.
inline std::string RowsSchemaOf(const EventStore& events,
                                std::string rows_schema) {
  return rows_schema.empty() ? events.schema() : std::move(rows_schema);
}

struct ProjectionOptions {
  // The projection's own connection: it holds the leadership lock.
  std::string dsn;
  // Events per transaction.
  int page = 500;
  // After a page that was not full, how long the next one gathers events
  // before it is applied: fewer, larger transactions under load, for at
  // most this much more lag.
  absl::Duration linger = absl::Milliseconds(20);
  // How often a follower tries to take the lead, and the longest pause
  // after a database error.
  absl::Duration retry = absl::Seconds(1);
};

enum class ProjectionState {
  kStarting,   // not connected yet
  kFollowing,  // another replica leads
  kLeading,    // this replica applies the events
  kStalled,    // an event failed: nothing moves until it is dealt with
  kStopped,
};
absl::string_view ProjectionStateName(ProjectionState state);

struct ProjectionStatus {
  std::string name;
  ProjectionState state = ProjectionState::kStarting;
  // The last event applied (as known to this replica).
  GlobalPosition position;
  // When stalled: the event and its error.
  std::string error;
};

class Projection final : private Feed::Subscriber {
 public:
  // `model`, `store` and `feed` must outlive the projection.
  Projection(std::string name, ProjectionModel* model, EventStore* store,
             Feed* feed, ProjectionOptions options);
  ~Projection() override;
  Projection(const Projection&) = delete;
  Projection& operator=(const Projection&) = delete;

  // Attaches to the feed and starts the projection's thread.
  void Start();
  // Ends the thread and gives up the lead. Safe to call twice.
  void Stop();

  const std::string& name() const { return name_; }
  ProjectionStatus status() const;
  // Waits until this replica has applied `position` (tests).
  bool AwaitApplied(GlobalPosition position, absl::Duration timeout) const;

 private:
  void Wake() override;
  void Run();
  // One round as leader: applies a page, or waits for events. False when
  // the connection is gone (the lead with it).
  bool Lead(pqxx::connection& connection);
  // Applies `events` and moves the checkpoint from `checkpoint` past them,
  // in one transaction (ABORTED if the checkpoint is no longer there).
  absl::Status ApplyPage(pqxx::connection& connection,
                         GlobalPosition checkpoint,
                         absl::Span<const RecordedEvent> events);
  void Stall(pqxx::connection& connection, const RecordedEvent& event,
             const absl::Status& error);
  void SetState(ProjectionState state);
  // Shows status_'s state in the metrics.
  void PublishState() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Sleeps up to `timeout`, less when woken or stopped.
  void Pause(absl::Duration timeout);

  const std::string name_;
  ProjectionModel* const model_;
  EventStore* const store_;
  Feed* const feed_;
  const ProjectionOptions options_;
  const std::string lock_key_;

  mutable absl::Mutex mu_;
  ProjectionStatus status_ ABSL_GUARDED_BY(mu_);
  bool woken_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  // The checkpoint while leading, when known (projection thread only).
  std::optional<GlobalPosition> checkpoint_;
  // While the checkpoint is before this, pages are one event long: a page
  // failed there and the failing event is being looked for.
  GlobalPosition narrow_until_;
  bool attached_ = false;
  std::thread thread_;
  // shop_projection_state{state=...}: 1 for the current one, by state.
  std::vector<shop::metrics::Gauge*> state_gauges_;
  shop::metrics::Counter* applied_;
};

// Projection `name`'s checkpoint as `tx` sees it (zero before its first
// page): a query reads it in the same snapshot as the model's rows.
GlobalPosition ReadCheckpoint(pqxx::transaction_base& tx,
                              const std::string& schema,
                              const std::string& name);

// Begins a read-model query in `tx` (repeatable read, nothing run yet):
// waits out a rebuild swapping in `tables`, before the snapshot is taken,
// then reads the checkpoint, so the rows read next are of that checkpoint.
GlobalPosition BeginModelRead(pqxx::transaction_base& tx,
                              const std::string& schema,
                              const std::string& name,
                              const std::vector<std::string>& tables);

// A projection's row, as any process sees it (`projections status`).
struct ProjectionRow {
  std::string name;
  GlobalPosition position;
  absl::Time updated_at;
  // Commit-safe events after the position: how far behind it is.
  int64_t behind = 0;
  // Whether some replica holds the lead now.
  bool led = false;
  std::string error;  // when stalled
};
absl::StatusOr<std::vector<ProjectionRow>> ReadProjections(
    ConnectionPool& pool, const std::string& schema);

// What a read-model query must reflect: the position to wait for, if any,
// and how long it may wait.
struct MinPosition {
  std::optional<GlobalPosition> position;
  absl::Time deadline = absl::InfinitePast();
};

// Read your writes: waits until projection `name` has applied `position`
// (a write's answer, or a Subscribe message's), looking at its checkpoint
// now and then until `deadline`. UNAVAILABLE / PROJECTION_BEHIND when it
// has not by then, naming how far behind it is; UNAVAILABLE /
// PROJECTION_STALLED at once when an event stalled it.
absl::Status AwaitProjection(ConnectionPool& pool, const std::string& schema,
                             const std::string& name, GlobalPosition position,
                             absl::Time deadline);

}  // namespace eventstore
