#pragma once

#include <set>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace eventstore {

// The writes a store has in progress, by when they started: how long the
// oldest one has been waiting says whether writes get through at all (a
// statement stuck behind a lock holds every append queued behind it).
class WriteWatch final {
 public:
  // Held for the duration of one write statement.
  class Scope final {
   public:
    explicit Scope(WriteWatch& watch)
        : watch_(watch), started_(watch.Enter()) {}
    ~Scope() { watch_.Leave(started_); }
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;

   private:
    WriteWatch& watch_;
    std::multiset<absl::Time>::iterator started_;
  };

  // Zero when no write is in progress.
  absl::Duration OldestAge(absl::Time now = absl::Now()) const {
    absl::MutexLock lock(&mu_);
    return started_.empty() ? absl::ZeroDuration() : now - *started_.begin();
  }

 private:
  std::multiset<absl::Time>::iterator Enter() {
    absl::MutexLock lock(&mu_);
    return started_.insert(absl::Now());
  }
  void Leave(std::multiset<absl::Time>::iterator started) {
    absl::MutexLock lock(&mu_);
    started_.erase(started);
  }

  mutable absl::Mutex mu_;
  std::multiset<absl::Time> started_ ABSL_GUARDED_BY(mu_);
};

}  // namespace eventstore
