// Owns the bound on statements in flight: the thread that cancels a
// statement at its bound and cuts its connection when cancelling is not
// enough.
#include "common/eventstore/statement_watchdog.h"

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>

namespace eventstore {

StatementWatchdog::Scope::Scope(StatementWatchdog& watchdog,
                                pqxx::connection& connection, absl::Time bound)
    : watchdog_(watchdog) {
  const int socket = connection.sock();
  absl::MutexLock lock(&watchdog_.mu_);
  watched_ = watchdog_.watched_.insert(
      watchdog_.watched_.end(),
      {&connection, socket >= 0 ? ::dup(socket) : -1, bound});
  ++watchdog_.generation_;
}

StatementWatchdog::Scope::~Scope() {
  int socket;
  {
    absl::MutexLock lock(&watchdog_.mu_);
    Watched& watched = *watched_;
    watchdog_.mu_.Await(absl::Condition(
        +[](Watched* w) { return !w->acting; }, &watched));
    socket = watched.socket;
    watchdog_.watched_.erase(watched_);
  }
  if (socket >= 0) ::close(socket);
}

StatementWatchdog::Fired StatementWatchdog::Scope::fired() const {
  absl::MutexLock lock(&watchdog_.mu_);
  return watched_->fired;
}

StatementWatchdog::StatementWatchdog(absl::Duration grace)
    : grace_(grace), thread_([this] { Watch(); }) {}

StatementWatchdog::~StatementWatchdog() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  thread_.join();
}

void StatementWatchdog::Watch() {
  absl::MutexLock lock(&mu_);
  while (!stopping_) {
    const absl::Time now = absl::Now();
    absl::Time next = absl::InfiniteFuture();
    Watched* due = nullptr;
    for (Watched& watched : watched_) {
      if (watched.acting || watched.fired == Fired::kCut) continue;
      const absl::Time at =
          watched.fired == Fired::kNo ? watched.bound : watched.bound + grace_;
      if (at <= now) {
        due = &watched;
        break;
      }
      next = std::min(next, at);
    }
    if (due == nullptr) {
      const uint64_t generation = generation_;
      auto changed = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return stopping_ || generation_ != generation;
      };
      mu_.AwaitWithDeadline(absl::Condition(&changed), next);
      continue;
    }
    // Outside the lock: a cancel opens a connection to the server, which
    // may take as long as the server is slow.
    // Marked first: the statement may answer before the cancel returns.
    due->acting = true;
    const Fired was = due->fired;
    due->fired = was == Fired::kNo ? Fired::kCancelled : Fired::kCut;
    mu_.Unlock();
    if (was == Fired::kNo) {
      try {
        // Reads only what the connection fixed when it opened.
        due->connection->cancel_query();
      } catch (const std::exception&) {
        // Unreachable server: the cut after the grace ends the wait.
      }
    } else if (due->socket >= 0) {
      ::shutdown(due->socket, SHUT_RDWR);
    }
    mu_.Lock();
    due->acting = false;
  }
}

}  // namespace eventstore
