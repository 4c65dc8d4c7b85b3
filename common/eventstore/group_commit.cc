// Owns group commit: the queue of pending appends, the leader that takes a
// batch and writes it (alone, or merged into one statement), the writer
// threads of AppendAsync, and the answer each member gets.
#include <algorithm>
#include <deque>
#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/errors/errors.h"
#include "common/eventstore/append_sql.h"
#include "common/eventstore/array_literal.h"
#include "common/eventstore/event_store.h"
#include "common/eventstore/event_store_internal.h"

namespace eventstore {

using internal::FormatTimestamp;

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
  {
    absl::MutexLock lock(&batch_mu_);
    if (!stopping_) {
      if (writers_.empty()) {
        for (int i = 0; i <= options_.max_in_flight; ++i) {
          writers_.emplace_back([this] { WriteQueued(); });
        }
        writers_.emplace_back([this] { WriteIsolated(); });
      }
      auto* pending = new PendingAppend(
          {std::move(stream), expected, std::move(events), std::move(snapshot)},
          std::move(done), deadline);
      if (Isolated(*pending->stream)) {
        isolated_queue_.push_back(pending);
      } else {
        queue_.push_back(pending);
        ++unwaited_;
      }
      return;
    }
  }
  // Closing: the writers drain what was queued and take nothing new.
  std::move(done)(absl::UnavailableError("the event store is closing"));
}

void EventStore::WriteQueued() {
  for (;;) {
    std::vector<PendingAppend*> batch;
    std::vector<PendingAppend*> expired;
    {
      absl::MutexLock lock(&batch_mu_);
      auto ready = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(batch_mu_) {
        return unwaited_ > 0 ? in_flight_ < options_.max_in_flight : stopping_;
      };
      batch_mu_.Await(absl::Condition(&ready));
      if (unwaited_ == 0) return;
      expired = DropExpired();
      auto first = std::find_if(
          queue_.begin(), queue_.end(),
          [](const PendingAppend* queued) { return !queued->waited_for(); });
      if (first != queue_.end()) batch = TakeBatch(*first);
    }
    Complete(expired);
    if (!batch.empty()) Complete(WriteBatch(std::move(batch)));
  }
}

void EventStore::WriteIsolated() {
  for (;;) {
    PendingAppend* next;
    {
      absl::MutexLock lock(&batch_mu_);
      // A batch still in flight may hand over its members.
      auto ready = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(batch_mu_) {
        return !isolated_queue_.empty() ||
               (stopping_ && unwaited_ == 0 && in_flight_ == 0);
      };
      batch_mu_.Await(absl::Condition(&ready));
      if (isolated_queue_.empty()) return;
      next = isolated_queue_.front();
      isolated_queue_.pop_front();
    }
    if (absl::Now() >= next->deadline) {
      expired_->Increment();
      next->result = internal::DeadlinePassedUnwritten();
    } else {
      next->result = AppendAlone(*next->stream, *next->expected, *next->events,
                                 next->snapshot, next->deadline);
    }
    next->state = PendingAppend::State::kDone;
    Complete({next});
  }
}

std::vector<EventStore::PendingAppend*> EventStore::DropExpired() {
  const absl::Time now = absl::Now();
  if (std::none_of(queue_.begin(), queue_.end(), [&](const PendingAppend* p) {
        return p->deadline <= now;
      })) {
    return {};
  }
  std::vector<PendingAppend*> unwaited;
  std::deque<PendingAppend*> kept;
  for (PendingAppend* queued : queue_) {
    if (queued->deadline > now) {
      kept.push_back(queued);
      continue;
    }
    expired_->Increment();
    queued->result = internal::DeadlinePassedUnwritten();
    queued->state = PendingAppend::State::kDone;
    if (!queued->waited_for()) {
      --unwaited_;
      unwaited.push_back(queued);
    }
  }
  queue_ = std::move(kept);
  return unwaited;
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
  batch_sizes_->Observe(static_cast<double>(batch.size()));
  return batch;
}

bool EventStore::AwaitClosing(absl::Duration timeout) {
  absl::MutexLock lock(&batch_mu_);
  return batch_mu_.AwaitWithTimeout(absl::Condition(&stopping_), timeout);
}

absl::StatusOr<AppendResult> EventStore::AppendGrouped(PendingAppend& pending) {
  bool isolated;
  {
    absl::MutexLock lock(&batch_mu_);
    isolated = Isolated(*pending.stream);
  }
  if (isolated) {
    // Alone, on the caller's thread: it holds no batch behind it.
    if (absl::Now() >= pending.deadline) {
      return internal::DeadlinePassedUnwritten();
    }
    return AppendAlone(*pending.stream, *pending.expected, *pending.events,
                       pending.snapshot, pending.deadline);
  }
  std::vector<PendingAppend*> batch;
  std::vector<PendingAppend*> expired;
  {
    absl::MutexLock lock(&batch_mu_);
    queue_.push_back(&pending);
    auto may_go = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(batch_mu_) {
      return pending.state != PendingAppend::State::kQueued ||
             in_flight_ < options_.max_in_flight;
    };
    batch_mu_.Await(absl::Condition(&may_go));
    if (pending.state == PendingAppend::State::kQueued) {
      expired = DropExpired();
    }
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
  Complete(expired);
  // The leader no longer touches a follower once it is settled.
  if (!batch.empty()) Complete(WriteBatch(std::move(batch)));
  return AnswerOf(pending);
}

std::vector<EventStore::PendingAppend*> EventStore::WriteBatch(
    std::vector<PendingAppend*> batch) {
  if (batch.size() > 1) return WriteMerged(batch);
  // Alone, the cheaper single statement is the same write.
  PendingAppend& only = *batch[0];
  absl::StatusOr<AppendResult> result = AppendAlone(
      *only.stream, *only.expected, *only.events, only.snapshot, only.deadline);
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
    // One handed over to the isolated writer is not settled yet.
    if (!append->waited_for() &&
        append->state != PendingAppend::State::kQueued) {
      unwaited.push_back(append);
    }
  }
  return unwaited;
}

absl::StatusOr<AppendResult> EventStore::AnswerOf(PendingAppend& pending) {
  switch (pending.state) {
    case PendingAppend::State::kRefused:
      return ResolveRefusedAppend(*pending.stream, *pending.expected,
                                  *pending.events, /*id_conflict=*/false);
    case PendingAppend::State::kRetryAlone:
      if (absl::Now() >= pending.deadline) {
        return internal::DeadlinePassedUnwritten();
      }
      return AppendAlone(*pending.stream, *pending.expected, *pending.events,
                         pending.snapshot, pending.deadline);
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
  ArrayLiteral streams, expected, counts, snapshots, due_ats, keep_due_ats;
  ArrayLiteral indexes, ordinals, ids, types, data, metadata;
  for (size_t i = 0; i < batch.size(); ++i) {
    const PendingAppend& append = *batch[i];
    const SnapshotWrite* snapshot = append.snapshot;
    streams.Add(*append.stream);
    expected.Add(absl::StrCat(append.expected->version()));
    counts.Add(absl::StrCat(append.events->size()));
    if (snapshot != nullptr && snapshot->json.has_value()) {
      snapshots.Add(*snapshot->json);
    } else {
      snapshots.AddNull();
    }
    if (snapshot != nullptr && snapshot->due_at.has_value()) {
      due_ats.Add(FormatTimestamp(*snapshot->due_at));
    } else {
      due_ats.AddNull();
    }
    keep_due_ats.Add(snapshot == nullptr ? "t" : "f");
    for (size_t n = 0; n < append.events->size(); ++n) {
      const EventData& event = (*append.events)[n];
      indexes.Add(absl::StrCat(i + 1));
      ordinals.Add(absl::StrCat(n + 1));
      ids.Add(event.event_id);
      types.Add(event.type);
      data.Add(event.data_json);
      metadata.Add(event.metadata_json);
    }
  }

  const std::string name = prefix_ + "append_merged";
  std::vector<AppendResult> results(batch.size());
  std::vector<bool> written(batch.size(), false);
  // Cancelled only once nobody in it waits any more.
  absl::Time deadline = absl::InfinitePast();
  std::vector<const std::string*> stream_ids;
  for (const PendingAppend* append : batch) {
    deadline = std::max(deadline, append->deadline);
    stream_ids.push_back(append->stream);
  }
  bool not_written;
  absl::Status status = RunWrite(
      deadline, stream_ids,
      [&](Connection& connection) {
        connection.Prepare(name, MergedAppendSql(schema_));
        pqxx::nontransaction tx(connection.raw());
        pqxx::result rows = tx.exec_prepared(
            name, std::move(streams).Finish(), std::move(expected).Finish(),
            std::move(counts).Finish(), std::move(snapshots).Finish(),
            std::move(due_ats).Finish(), std::move(keep_due_ats).Finish(),
            std::move(indexes).Finish(), std::move(ordinals).Finish(),
            std::move(ids).Finish(), std::move(types).Finish(),
            std::move(data).Finish(), std::move(metadata).Finish());
        if (!rows.empty()) NoteCommitted(rows[0][2].as<uint64_t>());
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
      },
      &not_written);

  absl::MutexLock lock(&batch_mu_);
  ++stats_.merged_statements;
  stats_.merged_appends += static_cast<int64_t>(batch.size());
  const std::string reason = shop::ReasonOf(status);
  const bool stopped =
      reason == kWriteTimedOutReason || reason == kDeadlinePassedReason;
  // Any failure but a lost server may be one append's fault: re-run alone.
  const bool retry_alone = !status.ok() && !stopped &&
                           status.code() != absl::StatusCode::kUnavailable;
  if (retry_alone) ++stats_.merged_fallbacks;
  const absl::Time now = absl::Now();
  for (size_t i = 0; i < batch.size(); ++i) {
    PendingAppend& append = *batch[i];
    if (stopped && not_written) {
      // Nothing written, and which stream held it is unknown: each is
      // written alone now, those nobody waits for beside the batches.
      if (append.deadline <= now) {
        expired_->Increment();
        append.result = internal::DeadlinePassedUnwritten();
        append.state = State::kDone;
      } else if (append.waited_for()) {
        append.state = State::kRetryAlone;
      } else {
        append.state = State::kQueued;
        isolated_queue_.push_back(&append);
      }
    } else if (!status.ok()) {
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

}  // namespace eventstore
