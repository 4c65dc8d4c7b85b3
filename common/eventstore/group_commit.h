#pragma once

// Owns group commit's machine: the queue of appends, the batch a free slot
// takes from it (the oldest, one per stream), the statements in flight,
// the writer threads of appends nobody waits for, the streams written
// alone, and each member's answer. What a statement does is its writer's
// (the event store's SQL); this file does no I/O of its own.

#include <atomic>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/eventstore/append_types.h"
#include "common/eventstore/expected_version.h"
#include "common/metrics/metrics.h"

namespace eventstore {

// DEADLINE_EXCEEDED / APPEND_DEADLINE_PASSED for an append not written.
absl::Status DeadlinePassedUnwritten();

// One append's arguments, validated, as group commit hands them on.
struct AppendArgs {
  const std::string& stream;
  const ExpectedVersion& expected;
  const std::vector<EventData>& events;
  const SnapshotWrite* snapshot;  // none: keep the stored one
  absl::Time deadline;            // not written once this has passed
};

// The statements group commit runs, one writer per store.
class GroupWriter {
 public:
  // What one statement for several appends did.
  struct Merged {
    absl::Status status;       // of the statement as a whole
    bool not_written = false;  // with a timeout: nothing of it was written
    // Per member, in the batch's order: its result when it was written,
    // none when its expectation did not hold.
    std::vector<std::optional<AppendResult>> written;
  };

  virtual ~GroupWriter() = default;
  // One append in its own statement; its answer, refusals resolved.
  virtual absl::StatusOr<AppendResult> WriteAlone(const AppendArgs& append) = 0;
  // Appends of distinct existing streams, sorted by stream, in one
  // statement bounded by `deadline`.
  virtual Merged WriteMerged(const std::vector<AppendArgs>& batch,
                             absl::Time deadline) = 0;
  // The answer to a member a merged statement did not write: a duplicate
  // of events already there, or WRONG_EXPECTED_VERSION.
  virtual absl::StatusOr<AppendResult> ResolveRefused(
      const AppendArgs& append) = 0;
};

struct GroupCommitOptions {
  // Most appends in one statement; 1: every append is written alone.
  int max_batch = 1;
  // Statements in flight at once; callers queue only while they run.
  int max_in_flight = 1;
  // Appends per batch taken, and appends answered unwritten because their
  // deadline passed while queued.
  shop::metrics::Histogram* batch_sizes = nullptr;
  shop::metrics::Counter* expired = nullptr;
};

// Group commit: one statement and round trip serve many concurrent appends.
// An append that finds a slot free leads: it takes itself and the oldest
// queued appends of other streams and writes them; one that finds every
// slot busy queues, and is written by the next leader. A merged statement
// that fails for a reason not everyone's is re-run one append at a time.
class GroupCommit final {
 public:
  GroupCommit(GroupWriter* writer, GroupCommitOptions options);
  // Close()s.
  ~GroupCommit();

  // Whether a waited-for append with `expected` shares statements (an
  // exact version of an existing stream: a merged UPDATE cannot create a
  // stream).
  bool Shares(const ExpectedVersion& expected) const;
  // A waited-for append that Shares(): written in a batch it leads or
  // rides in, or alone if its stream is isolated.
  absl::StatusOr<AppendResult> Append(const AppendArgs& append);

  // The arguments of an append nobody waits for.
  struct Owned {
    std::string stream;
    ExpectedVersion expected;
    std::vector<EventData> events;
    std::optional<SnapshotWrite> snapshot;
  };
  // Queued for the writer threads, started by the first call; `done` runs
  // on one of them, or here with UNAVAILABLE once closing.
  void AppendAsync(Owned append, absl::Time deadline, AppendCallback done);

  // Refuses new appends, answers those queued, joins the threads.
  void Close();

  // Streams whose last write timed out are written alone, one at a time,
  // beside the batches, until a write of theirs gets through in time.
  void Isolate(const std::vector<const std::string*>& streams);
  void EndIsolation(const std::string& stream);

  GroupCommitStats stats() const;
  // Waits for >= `in_flight` statements and `queued` waiting appends.
  bool AwaitBusy(int in_flight, int queued, absl::Duration timeout);
  // Waits until Close() has begun to refuse new appends.
  bool AwaitClosing(absl::Duration timeout);

 private:
  struct Pending;

  bool Isolated(const std::string& stream) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Answers the queued appends whose deadline has passed (a waiting caller
  // wakes to it); returns those nobody waits for, to Complete.
  std::vector<Pending*> DropExpired() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Takes a free slot and, from the queue, `first` and the oldest appends
  // that may share its statement.
  std::vector<Pending*> TakeBatch(Pending* first)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Writes a taken batch and settles each member; returns the members
  // nobody waits for, whose callbacks the caller then runs (Complete).
  std::vector<Pending*> WriteBatch(std::vector<Pending*> batch);
  std::vector<Pending*> WriteMerged(std::vector<Pending*>& batch);
  // Frees the batch's slot; returns its settled unwaited members.
  std::vector<Pending*> Settle(const std::vector<Pending*>& batch)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The answer to a settled append (a refused one is looked into here).
  absl::StatusOr<AppendResult> AnswerOf(Pending& pending);
  // Runs the callbacks of settled unwaited appends, and frees them.
  void Complete(const std::vector<Pending*>& appends);
  absl::StatusOr<AppendResult> WriteAloneInTime(const Pending& pending);
  // A thread that writes the appends nobody waits for.
  void WriteQueued();
  // The thread that writes isolated streams' appends, one at a time.
  void WriteIsolated();

  GroupWriter* const writer_;
  const GroupCommitOptions options_;

  mutable absl::Mutex mu_;
  // Appends waiting for a batch, oldest first.
  std::deque<Pending*> queue_ ABSL_GUARDED_BY(mu_);
  int in_flight_ ABSL_GUARDED_BY(mu_) = 0;
  // Queued appends that no caller waits for (AppendAsync).
  int unwaited_ ABSL_GUARDED_BY(mu_) = 0;
  // Isolated streams, and their appends nobody waits for, oldest first.
  absl::flat_hash_set<std::string> isolated_ ABSL_GUARDED_BY(mu_);
  std::atomic<bool> any_isolated_ = false;
  std::deque<Pending*> isolated_queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  GroupCommitStats stats_ ABSL_GUARDED_BY(mu_);
  // Started by the first AppendAsync: one more than the statements in
  // flight, so that callbacks run while the next statement is written.
  std::vector<std::thread> threads_ ABSL_GUARDED_BY(mu_);
};

}  // namespace eventstore
