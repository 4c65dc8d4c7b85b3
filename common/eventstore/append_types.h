#pragma once

// The values an append takes and gives: events, the snapshot written beside
// them, the result and its place in history, and the reasons of the
// refusals that are the store's own. Shared by the event store and its
// group commit.

#include <compare>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace eventstore {

inline constexpr int kMaxEventsPerAppend = 1000;

// Reason of an append refused by a unique index of the service's own
// (ALREADY_EXISTS, with the constraint's name among the facts).
inline constexpr char kUniqueViolationReason[] = "UNIQUE_VIOLATION";
// DEADLINE_EXCEEDED: the caller's deadline passed before the append was
// written. The fact `written` is "no" unless its statement was cut.
inline constexpr char kDeadlinePassedReason[] = "APPEND_DEADLINE_PASSED";
// UNAVAILABLE: the append's statement did not finish within the write
// timeout. The fact `written` is "no" (it was cancelled) or "unknown".
inline constexpr char kWriteTimedOutReason[] = "WRITE_TIMED_OUT";

// An event to append. The id makes a retried append a no-op.
struct EventData {
  std::string event_id;  // canonical UUID
  std::string type;      // e.g. "stock.reserved"
  std::string data_json;
  std::string metadata_json = "{}";
};

// A place in the whole schema's history. Events are totally ordered by
// (transaction_id, position); a reader keeps the last one it has seen.
struct GlobalPosition {
  uint64_t transaction_id = 0;
  int64_t position = 0;

  friend auto operator<=>(const GlobalPosition&,
                          const GlobalPosition&) = default;
};

// What a service writes beside the events, in the same statement.
struct SnapshotWrite {
  // The folded state; none keeps the stored snapshot, which stays valid
  // because loads fold the newer events on top of it.
  std::optional<std::string> json;
  // When the stream next needs attention (e.g. a reservation expires);
  // always written, so it can move without a new snapshot.
  std::optional<absl::Time> due_at;
};

struct AppendResult {
  int64_t version = 0;      // the stream's version after the append
  GlobalPosition position;  // of the last appended event
  bool duplicate = false;   // the events were already there: nothing written
};

// Receives the answer of an append that did not wait for it.
using AppendCallback =
    absl::AnyInvocable<void(absl::StatusOr<AppendResult>) &&>;

// What group commit has done so far.
struct GroupCommitStats {
  int64_t batches = 0;            // leader turns, batches of one included
  int64_t batched_appends = 0;    // appends those turns carried
  int64_t merged_statements = 0;  // batches of two or more, one statement
  int64_t merged_appends = 0;     // appends those statements carried
  int64_t merged_fallbacks = 0;   // merged statements re-run one by one
};

}  // namespace eventstore
