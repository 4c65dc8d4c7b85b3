#pragma once

#include <optional>
#include <set>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace eventstore {

// The writes a store has in progress, by when they started, and the last
// that timed out: how long the oldest one has been waiting, or a timeout
// with nothing through since, says that writes do not get through.
class WriteWatch final {
 public:
  // Held for the duration of one write statement.
  class Scope final {
   public:
    explicit Scope(WriteWatch& watch)
        : watch_(watch), started_(watch.Enter()) {}
    ~Scope() { watch_.Leave(started_, timed_out_); }
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;

    // The statement did not finish within its bound.
    void TimedOut() { timed_out_ = true; }

   private:
    WriteWatch& watch_;
    std::multiset<absl::Time>::iterator started_;
    bool timed_out_ = false;
  };

  // Zero when no write is in progress.
  absl::Duration OldestAge(absl::Time now = absl::Now()) const {
    absl::MutexLock lock(&mu_);
    return started_.empty() ? absl::ZeroDuration() : now - *started_.begin();
  }

  // When the last write timed out, unless one has finished in time since.
  std::optional<absl::Time> UnansweredTimeout() const {
    absl::MutexLock lock(&mu_);
    return last_timeout_;
  }

 private:
  std::multiset<absl::Time>::iterator Enter() {
    absl::MutexLock lock(&mu_);
    return started_.insert(absl::Now());
  }
  void Leave(std::multiset<absl::Time>::iterator started, bool timed_out) {
    absl::MutexLock lock(&mu_);
    started_.erase(started);
    if (timed_out) {
      last_timeout_ = absl::Now();
    } else {
      last_timeout_.reset();
    }
  }

  mutable absl::Mutex mu_;
  std::multiset<absl::Time> started_ ABSL_GUARDED_BY(mu_);
  std::optional<absl::Time> last_timeout_ ABSL_GUARDED_BY(mu_);
};

}  // namespace eventstore
