// Owns the atomic append to several streams: one transaction, each stream
// with its own expectation, all or nothing.
#include <algorithm>
#include <numeric>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "common/errors/errors.h"
#include "common/eventstore/append_sql.h"
#include "common/eventstore/event_store.h"
#include "common/eventstore/event_store_internal.h"

namespace eventstore {

absl::StatusOr<std::vector<AppendResult>> EventStore::AppendMany(
    const std::vector<StreamAppend>& appends, absl::Time deadline) {
  if (appends.empty()) {
    return absl::InvalidArgumentError("append needs at least one stream");
  }
  absl::flat_hash_set<std::string> streams;
  absl::flat_hash_set<std::string> ids;
  for (const StreamAppend& append : appends) {
    if (absl::Status valid = internal::ValidateEvents(append.events);
        !valid.ok()) {
      return valid;
    }
    if (append.stream.empty()) {
      return absl::InvalidArgumentError("stream id is empty");
    }
    if (!streams.insert(append.stream).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("stream ", append.stream, " is named twice"));
    }
    for (const EventData& event : append.events) {
      if (!ids.insert(event.event_id).second) {
        return absl::InvalidArgumentError(
            absl::StrCat("event id ", event.event_id, " is used twice"));
      }
    }
  }
  // Streams in one order for every caller, so two appends that share
  // streams wait for each other instead of deadlocking.
  std::vector<size_t> order(appends.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return appends[a].stream < appends[b].stream;
  });

  if (absl::Now() >= deadline) return DeadlinePassedUnwritten();
  std::vector<const std::string*> stream_ids;
  for (const StreamAppend& append : appends)
    stream_ids.push_back(&append.stream);
  std::vector<AppendResult> results(appends.size());
  std::optional<size_t> refused;
  bool violated = false;
  bool not_written;
  absl::Status status = RunWrite(
      deadline, stream_ids,
      [&](Connection& connection) {
        pqxx::work tx(connection.raw());
        for (size_t i : order) {
          const StreamAppend& append = appends[i];
          const ExpectedVersion::Kind kind = append.expected.kind();
          const std::string name =
              absl::StrCat(prefix_, "append_", KindName(kind));
          connection.Prepare(name, AppendSql(schema_, kind));
          const AppendParams params = ParamsOf(
              append.events,
              append.snapshot.has_value() ? &*append.snapshot : nullptr);
          pqxx::result rows;
          try {
            rows =
                kind == ExpectedVersion::Kind::kExact
                    ? tx.exec_prepared(name, append.stream, params.count,
                                       params.SnapshotArg(), params.DueAtArg(),
                                       params.ids, params.types, params.data,
                                       params.metadata, params.keep_due_at,
                                       append.expected.version())
                    : tx.exec_prepared(name, append.stream, params.count,
                                       params.SnapshotArg(), params.DueAtArg(),
                                       params.ids, params.types, params.data,
                                       params.metadata, params.keep_due_at);
          } catch (const pqxx::unique_violation&) {
            violated = true;
          }
          if (violated || rows.empty()) {
            refused = i;
            return absl::OkStatus();  // the transaction rolls back unfinished
          }
          results[i] = internal::LastOf(rows);
        }
        tx.commit();
        return absl::OkStatus();
      },
      &not_written);
  if (!status.ok()) return status;
  if (!refused.has_value()) {
    NoteCommitted(results.front().position.transaction_id);
    return results;
  }

  const StreamAppend& first = appends[*refused];
  if (violated) {
    absl::Status named = pool_->Run([&](Connection& connection) {
      const AppendParams params =
          ParamsOf(first.events,
                   first.snapshot.has_value() ? &*first.snapshot : nullptr);
      const std::optional<std::string> constraint = RefusingConstraint(
          connection, AppendSql(schema_, first.expected.kind()), first.stream,
          first.expected, params);
      if (constraint.has_value() &&
          *constraint != internal::kEventIdConstraint) {
        return shop::MakeError(
            absl::StatusCode::kAlreadyExists, "eventstore",
            kUniqueViolationReason,
            absl::StrCat("append to ", first.stream, " refused by ",
                         *constraint),
            {{"stream", first.stream}, {"constraint", *constraint}});
      }
      return absl::OkStatus();
    });
    if (!named.ok()) return named;
  }
  // A retry of an append that committed finds every stream's events there
  // (they were written together); anything else is the refusal itself.
  std::vector<size_t> check = {*refused};
  for (size_t i = 0; i < appends.size(); ++i) {
    if (i != *refused) check.push_back(i);
  }
  for (size_t i : check) {
    absl::StatusOr<AppendResult> resolved =
        ResolveRefusedAppend(appends[i].stream, appends[i].expected,
                             appends[i].events, violated && i == *refused);
    if (!resolved.ok()) return resolved.status();
    results[i] = *resolved;
  }
  return results;
}

}  // namespace eventstore
