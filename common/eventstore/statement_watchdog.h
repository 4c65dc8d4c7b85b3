#pragma once

#include <list>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "pqxx/pqxx"

namespace eventstore {

// Bounds statements in flight. At its bound a statement is cancelled: a
// backend waiting on a lock rolls back and answers at once. If it has not
// answered `grace` later (a frozen backend, a host gone silent), its socket
// is shut, so the thread waiting on it gets a broken connection instead of
// waiting as long as the database does.
class StatementWatchdog final {
 public:
  enum class Fired {
    kNo,
    kCancelled,  // a cancel was sent; the statement answered
    kCut,        // no answer after the cancel: the connection was shut
  };

  struct Watched {
    pqxx::connection* connection;
    // A duplicate of the connection's socket, so that cutting it never hits
    // a descriptor libpq has closed and the process reused.
    int socket;
    absl::Time bound;
    Fired fired = Fired::kNo;
    // The watchdog is cancelling or cutting it outside the lock: the scope
    // waits for that before its connection may go.
    bool acting = false;
  };

  // Watches one statement on `connection` while it lives.
  class Scope final {
   public:
    Scope(StatementWatchdog& watchdog, pqxx::connection& connection,
          absl::Time bound);
    ~Scope();
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;

    Fired fired() const;

   private:
    StatementWatchdog& watchdog_;
    std::list<Watched>::iterator watched_;
  };

  explicit StatementWatchdog(absl::Duration grace = absl::Seconds(1));
  ~StatementWatchdog();
  StatementWatchdog(const StatementWatchdog&) = delete;
  StatementWatchdog& operator=(const StatementWatchdog&) = delete;

 private:
  void Watch();

  const absl::Duration grace_;
  mutable absl::Mutex mu_;
  std::list<Watched> watched_ ABSL_GUARDED_BY(mu_);
  // Bumped whenever a statement is watched, so the thread re-reads bounds.
  uint64_t generation_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace eventstore
