// Owns group commit's machine (see group_commit.h): queueing, leading and
// riding, the writer threads, the merged statement's outcome per member,
// and each member's answer.
#include "common/eventstore/group_commit.h"

#include <algorithm>
#include <utility>

#include "common/errors/errors.h"

namespace eventstore {

absl::Status DeadlinePassedUnwritten() {
  return shop::MakeError(
      absl::StatusCode::kDeadlineExceeded, "eventstore", kDeadlinePassedReason,
      "the caller's deadline passed before the append was written: nothing "
      "was written",
      {{shop::kWrittenFact, shop::kNotWritten}});
}

// One append while it waits for, or rides in, a batch. A waited-for append
// borrows its caller's arguments (the caller blocks until it is answered);
// an unwaited one owns them.
struct GroupCommit::Pending {
  enum class State {
    kQueued,      // waiting for a batch
    kTaken,       // in a batch being written
    kDone,        // `result` is the answer
    kRefused,     // not written: the answer is looked into (ResolveRefused)
    kRetryAlone,  // the merged statement failed: written alone instead
  };

  explicit Pending(const AppendArgs& borrowed) : args(borrowed) {}
  Pending(Owned owned_args, absl::Time deadline, AppendCallback callback)
      : owned(std::make_unique<Owned>(std::move(owned_args))),
        args{owned->stream, owned->expected, owned->events,
             owned->snapshot.has_value() ? &*owned->snapshot : nullptr,
             deadline},
        done(std::move(callback)) {}

  bool mergeable() const {
    return args.expected.kind() == ExpectedVersion::Kind::kExact &&
           args.expected.version() > 0;
  }
  bool waited_for() const { return owned == nullptr; }

  const std::unique_ptr<Owned> owned;
  const AppendArgs args;  // into `owned`, or the waiting caller's
  AppendCallback done;
  State state = State::kQueued;
  absl::StatusOr<AppendResult> result = absl::UnknownError("not answered");
};

GroupCommit::GroupCommit(GroupWriter* writer, GroupCommitOptions options)
    : writer_(writer), options_(options) {}

GroupCommit::~GroupCommit() { Close(); }

void GroupCommit::Close() {
  std::vector<std::thread> threads;
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    threads.swap(threads_);
  }
  for (std::thread& thread : threads) thread.join();
}

bool GroupCommit::Shares(const ExpectedVersion& expected) const {
  return options_.max_batch > 1 &&
         expected.kind() == ExpectedVersion::Kind::kExact &&
         expected.version() > 0;
}

GroupCommitStats GroupCommit::stats() const {
  absl::MutexLock lock(&mu_);
  return stats_;
}

bool GroupCommit::AwaitBusy(int in_flight, int queued, absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  auto reached = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return in_flight_ >= in_flight && static_cast<int>(queue_.size()) >= queued;
  };
  return mu_.AwaitWithTimeout(absl::Condition(&reached), timeout);
}

bool GroupCommit::AwaitClosing(absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  return mu_.AwaitWithTimeout(absl::Condition(&stopping_), timeout);
}

void GroupCommit::Isolate(const std::vector<const std::string*>& streams) {
  absl::MutexLock lock(&mu_);
  for (const std::string* stream : streams) isolated_.insert(*stream);
  any_isolated_ = !isolated_.empty();
}

void GroupCommit::EndIsolation(const std::string& stream) {
  if (!any_isolated_) return;
  absl::MutexLock lock(&mu_);
  isolated_.erase(stream);
  any_isolated_ = !isolated_.empty();
}

bool GroupCommit::Isolated(const std::string& stream) const {
  return any_isolated_ && isolated_.contains(stream);
}

void GroupCommit::AppendAsync(Owned append, absl::Time deadline,
                              AppendCallback done) {
  {
    absl::MutexLock lock(&mu_);
    if (!stopping_) {
      if (threads_.empty()) {
        for (int i = 0; i <= options_.max_in_flight; ++i) {
          threads_.emplace_back([this] { WriteQueued(); });
        }
        threads_.emplace_back([this] { WriteIsolated(); });
      }
      auto* pending = new Pending(std::move(append), deadline, std::move(done));
      if (Isolated(pending->args.stream)) {
        isolated_queue_.push_back(pending);
      } else {
        queue_.push_back(pending);
        ++unwaited_;
      }
      return;
    }
  }
  // Closing: the threads drain what was queued and take nothing new.
  std::move(done)(absl::UnavailableError("the event store is closing"));
}

absl::StatusOr<AppendResult> GroupCommit::WriteAloneInTime(
    const Pending& pending) {
  if (absl::Now() >= pending.args.deadline) return DeadlinePassedUnwritten();
  return writer_->WriteAlone(pending.args);
}

void GroupCommit::WriteQueued() {
  for (;;) {
    std::vector<Pending*> batch;
    std::vector<Pending*> expired;
    {
      absl::MutexLock lock(&mu_);
      auto ready = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return unwaited_ > 0 ? in_flight_ < options_.max_in_flight : stopping_;
      };
      mu_.Await(absl::Condition(&ready));
      if (unwaited_ == 0) return;
      expired = DropExpired();
      auto first = std::find_if(
          queue_.begin(), queue_.end(),
          [](const Pending* queued) { return !queued->waited_for(); });
      if (first != queue_.end()) batch = TakeBatch(*first);
    }
    Complete(expired);
    if (!batch.empty()) Complete(WriteBatch(std::move(batch)));
  }
}

void GroupCommit::WriteIsolated() {
  for (;;) {
    Pending* next;
    {
      absl::MutexLock lock(&mu_);
      // A batch still in flight may hand over its members.
      auto ready = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return !isolated_queue_.empty() ||
               (stopping_ && unwaited_ == 0 && in_flight_ == 0);
      };
      mu_.Await(absl::Condition(&ready));
      if (isolated_queue_.empty()) return;
      next = isolated_queue_.front();
      isolated_queue_.pop_front();
    }
    if (absl::Now() >= next->args.deadline) {
      if (options_.expired != nullptr) options_.expired->Increment();
      next->result = DeadlinePassedUnwritten();
    } else {
      next->result = writer_->WriteAlone(next->args);
    }
    next->state = Pending::State::kDone;
    Complete({next});
  }
}

std::vector<GroupCommit::Pending*> GroupCommit::DropExpired() {
  const absl::Time now = absl::Now();
  if (std::none_of(queue_.begin(), queue_.end(),
                   [&](const Pending* p) { return p->args.deadline <= now; })) {
    return {};
  }
  std::vector<Pending*> unwaited;
  std::deque<Pending*> kept;
  for (Pending* queued : queue_) {
    if (queued->args.deadline > now) {
      kept.push_back(queued);
      continue;
    }
    if (options_.expired != nullptr) options_.expired->Increment();
    queued->result = DeadlinePassedUnwritten();
    queued->state = Pending::State::kDone;
    if (!queued->waited_for()) {
      --unwaited_;
      unwaited.push_back(queued);
    }
  }
  queue_ = std::move(kept);
  return unwaited;
}

std::vector<GroupCommit::Pending*> GroupCommit::TakeBatch(Pending* first) {
  ++in_flight_;
  std::vector<Pending*> batch = {first};
  // With group commit off, or for an append that may create its stream,
  // the batch is the one append.
  const bool merge = options_.max_batch > 1 && first->mergeable();
  // A statement carries at most as many events as one append may.
  size_t events = first->args.events.size();
  std::deque<Pending*> rest;
  for (Pending* queued : queue_) {
    if (queued == first) continue;
    const bool same_stream =
        std::any_of(batch.begin(), batch.end(), [&](const Pending* taken) {
          return taken->args.stream == queued->args.stream;
        });
    if (merge && static_cast<int>(batch.size()) < options_.max_batch &&
        queued->mergeable() && !same_stream &&
        events + queued->args.events.size() <= kMaxEventsPerAppend) {
      batch.push_back(queued);
      events += queued->args.events.size();
    } else {
      rest.push_back(queued);
    }
  }
  queue_ = std::move(rest);
  for (Pending* taken : batch) {
    taken->state = Pending::State::kTaken;
    if (!taken->waited_for()) --unwaited_;
  }
  ++stats_.batches;
  stats_.batched_appends += static_cast<int64_t>(batch.size());
  if (options_.batch_sizes != nullptr) {
    options_.batch_sizes->Observe(static_cast<double>(batch.size()));
  }
  return batch;
}

absl::StatusOr<AppendResult> GroupCommit::Append(const AppendArgs& append) {
  Pending pending(append);
  bool isolated;
  {
    absl::MutexLock lock(&mu_);
    isolated = Isolated(append.stream);
  }
  // Alone, on the caller's thread: it holds no batch behind it.
  if (isolated) return WriteAloneInTime(pending);
  std::vector<Pending*> batch;
  std::vector<Pending*> expired;
  {
    absl::MutexLock lock(&mu_);
    queue_.push_back(&pending);
    auto may_go = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return pending.state != Pending::State::kQueued ||
             in_flight_ < options_.max_in_flight;
    };
    mu_.Await(absl::Condition(&may_go));
    if (pending.state == Pending::State::kQueued) expired = DropExpired();
    if (pending.state == Pending::State::kQueued) {
      // Free slot, not taken: lead the oldest appends, one per stream.
      batch = TakeBatch(&pending);
    } else {
      auto answered = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return pending.state != Pending::State::kTaken;
      };
      mu_.Await(absl::Condition(&answered));
    }
  }
  Complete(expired);
  // The leader no longer touches a follower once it is settled.
  if (!batch.empty()) Complete(WriteBatch(std::move(batch)));
  return AnswerOf(pending);
}

std::vector<GroupCommit::Pending*> GroupCommit::WriteBatch(
    std::vector<Pending*> batch) {
  if (batch.size() > 1) return WriteMerged(batch);
  // Alone, the cheaper single statement is the same write.
  Pending& only = *batch[0];
  absl::StatusOr<AppendResult> result = writer_->WriteAlone(only.args);
  absl::MutexLock lock(&mu_);
  only.result = std::move(result);
  only.state = Pending::State::kDone;
  return Settle(batch);
}

std::vector<GroupCommit::Pending*> GroupCommit::Settle(
    const std::vector<Pending*>& batch) {
  --in_flight_;
  std::vector<Pending*> unwaited;
  for (Pending* append : batch) {
    // One handed over to the isolated writer is not settled yet.
    if (!append->waited_for() && append->state != Pending::State::kQueued) {
      unwaited.push_back(append);
    }
  }
  return unwaited;
}

absl::StatusOr<AppendResult> GroupCommit::AnswerOf(Pending& pending) {
  switch (pending.state) {
    case Pending::State::kRefused:
      return writer_->ResolveRefused(pending.args);
    case Pending::State::kRetryAlone:
      return WriteAloneInTime(pending);
    default:
      return std::move(pending.result);
  }
}

void GroupCommit::Complete(const std::vector<Pending*>& appends) {
  for (Pending* append : appends) {
    std::unique_ptr<Pending> owned(append);
    std::move(owned->done)(AnswerOf(*owned));
  }
}

std::vector<GroupCommit::Pending*> GroupCommit::WriteMerged(
    std::vector<Pending*>& batch) {
  using State = Pending::State;
  // One lock order for every writer; a deadlock left is re-run alone below.
  std::sort(batch.begin(), batch.end(), [](const Pending* a, const Pending* b) {
    return a->args.stream < b->args.stream;
  });
  std::vector<AppendArgs> members;
  members.reserve(batch.size());
  // Cancelled only once nobody in it waits any more.
  absl::Time deadline = absl::InfinitePast();
  for (const Pending* append : batch) {
    members.push_back(append->args);
    deadline = std::max(deadline, append->args.deadline);
  }
  GroupWriter::Merged merged = writer_->WriteMerged(members, deadline);
  merged.written.resize(batch.size());

  absl::MutexLock lock(&mu_);
  ++stats_.merged_statements;
  stats_.merged_appends += static_cast<int64_t>(batch.size());
  const absl::Status& status = merged.status;
  const std::string reason = shop::ReasonOf(status);
  const bool stopped =
      reason == kWriteTimedOutReason || reason == kDeadlinePassedReason;
  // Any failure but a lost server may be one append's fault: re-run alone.
  const bool retry_alone = !status.ok() && !stopped &&
                           status.code() != absl::StatusCode::kUnavailable;
  if (retry_alone) ++stats_.merged_fallbacks;
  const absl::Time now = absl::Now();
  for (size_t i = 0; i < batch.size(); ++i) {
    Pending& append = *batch[i];
    if (stopped && merged.not_written) {
      // Nothing written, and which stream held it is unknown: each is
      // written alone now, those nobody waits for beside the batches.
      if (append.args.deadline <= now) {
        if (options_.expired != nullptr) options_.expired->Increment();
        append.result = DeadlinePassedUnwritten();
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
    } else if (merged.written[i].has_value()) {
      append.result = *merged.written[i];
      append.state = State::kDone;
    } else {
      append.state = State::kRefused;
    }
  }
  return Settle(batch);
}

}  // namespace eventstore
