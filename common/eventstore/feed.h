#pragma once

// The live end of one event store, shared by all its subscribers. One
// reader thread reads each new commit-safe page once for everybody, woken
// by this process's commits and by other replicas' NOTIFY on the schema's
// channel, and keeps the newest events in a bounded window. A subscriber
// takes its events from the window, or, while its position is older than
// the window, reads the store itself on a catch-up thread.

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/eventstore/event_store.h"

namespace shop {
class WorkQueue;
}

namespace eventstore {

struct FeedOptions {
  // The connection that LISTENs and NOTIFYs (not one of the pool's).
  std::string dsn;
  // The window of recent events: at most this many, and this many bytes.
  int window_events = 20'000;
  int64_t window_bytes = 32 << 20;
  // More subscribers at once are refused with RESOURCE_EXHAUSTED.
  int max_subscribers = 500;
  // Longest pause between two reads while a transaction older than a
  // committed one still runs (its events are not commit-safe yet).
  absl::Duration max_retry = absl::Milliseconds(50);
  // Every subscriber is woken this often, to send its idle checkpoint.
  absl::Duration tick = absl::Seconds(1);
  int catch_up_threads = 2;
};

using SharedEvent = std::shared_ptr<const RecordedEvent>;

struct FeedStats {
  int64_t live_reads = 0;      // store reads of the reader thread
  int64_t catch_up_reads = 0;  // store reads for subscribers behind the window
  int64_t wakeups = 0;         // times the reader thread was woken to read
  int64_t events = 0;          // events the reader thread has read
  int subscribers = 0;
};

class Feed final {
 public:
  class Subscriber {
   public:
    virtual ~Subscriber() = default;
    // Events past the subscriber's position may be in the window, a tick
    // passed, or the feed closed. Runs on the feed's thread: must not block.
    virtual void Wake() = 0;
  };

  // `store` must outlive the feed; the feed sets its commit observer.
  Feed(EventStore* store, FeedOptions options);
  ~Feed();
  Feed(const Feed&) = delete;
  Feed& operator=(const Feed&) = delete;

  // Starts the window at the store's commit-safe end and the reader thread.
  absl::Status Start();
  // Wakes every subscriber once more with closed() true; Attach refuses
  // from here on. Safe to call twice.
  void Close();
  bool closed() const;

  // RESOURCE_EXHAUSTED beyond max_subscribers, UNAVAILABLE once closed.
  absl::Status Attach(Subscriber* subscriber);
  // A subscriber of the service's own (a projection): not counted against
  // max_subscribers, nor in stats(), and attached even once closed.
  void AttachInternal(Subscriber* subscriber);
  // No Wake of `subscriber` runs once it returns.
  void Detach(Subscriber* subscriber);

  struct Page {
    // Events after the position asked for, oldest first.
    std::vector<SharedEvent> events;
    // The position is older than the window: read the store (ReadBehind).
    bool behind = false;
  };
  Page Next(GlobalPosition after, int max_count) const;
  // The last position the reader has read up to.
  GlobalPosition head() const;
  // Runs store->ReadAll(after, max_count) on a catch-up thread and hands
  // `done` the result there.
  void ReadBehind(
      GlobalPosition after, int max_count,
      absl::AnyInvocable<void(absl::StatusOr<std::vector<RecordedEvent>>) &&>
          done);

  // Runs store->ReadHorizon() on a catch-up thread and hands `done` the
  // result there: what has committed now, which the reader's head may not
  // have reached yet.
  void ReadHorizon(
      absl::AnyInvocable<void(absl::StatusOr<CommitHorizon>) &&> done);

  FeedStats stats() const;
  // Waits until the reader has read past `position` (tests).
  bool AwaitHead(GlobalPosition position, absl::Duration timeout) const;

 private:
  class Listener;

  uint64_t KnownCommitted() const {
    return std::max(local_xid_.load(std::memory_order_acquire), notified_xid_);
  }
  // This process committed events in `transaction_id`.
  void NoteCommitted(uint64_t transaction_id);
  void Run();
  // Reads until caught up with every commit known of; false when a
  // transaction older than one of them holds the events back.
  bool ReadLive();
  void WakeSubscribers();
  void Signal();

  EventStore* const store_;
  const FeedOptions options_;
  const std::string channel_;

  mutable absl::Mutex window_mu_;
  std::vector<SharedEvent> window_ ABSL_GUARDED_BY(window_mu_);
  // The window holds every event after base_ up to head_; window_[first_]
  // is its oldest (the vector is compacted now and then).
  size_t first_ ABSL_GUARDED_BY(window_mu_) = 0;
  GlobalPosition base_ ABSL_GUARDED_BY(window_mu_);
  GlobalPosition head_ ABSL_GUARDED_BY(window_mu_);
  int64_t bytes_ ABSL_GUARDED_BY(window_mu_) = 0;

  // Held while subscribers are woken: a Wake must not call Attach/Detach.
  mutable absl::Mutex subscribers_mu_;
  absl::flat_hash_set<Subscriber*> subscribers_
      ABSL_GUARDED_BY(subscribers_mu_);
  // Those of subscribers_ attached by AttachInternal.
  absl::flat_hash_set<Subscriber*> internal_ ABSL_GUARDED_BY(subscribers_mu_);
  std::atomic<bool> closed_{false};
  std::atomic<bool> stopping_{false};
  std::atomic<int64_t> live_reads_{0}, catch_up_reads_{0}, wakeups_{0},
      events_read_{0};

  // Highest transaction id that committed events in this process, and the
  // highest another replica announced by NOTIFY (reader thread only).
  std::atomic<uint64_t> local_xid_{0};
  uint64_t notified_xid_ = 0;
  // Highest local one already announced to the other replicas.
  uint64_t announced_xid_ = 0;
  absl::Time warned_at_ = absl::InfinitePast();  // of a failed read
  std::atomic<bool> signaled_{false};
  int wake_fd_ = -1;
  std::unique_ptr<shop::WorkQueue> catch_up_;
  std::thread reader_;
};

}  // namespace eventstore
