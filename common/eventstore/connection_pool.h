#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/eventstore/statement_watchdog.h"
#include "pqxx/pqxx"

namespace eventstore {

// One PostgreSQL connection and the statements already prepared on it.
class Connection final {
 public:
  explicit Connection(const std::string& dsn);

  pqxx::connection& raw() { return connection_; }
  // Prepares `sql` as `name` the first time this connection sees it.
  void Prepare(const std::string& name, const std::string& sql);

 private:
  pqxx::connection connection_;
  absl::flat_hash_set<std::string> prepared_;
};

struct PoolOptions {
  // libpq connection string or URI; the password may come from PGPASSWORD.
  std::string dsn;
  int size = 8;
  // How long a caller waits for a free connection before UNAVAILABLE.
  absl::Duration acquire_timeout = absl::Seconds(5);
  // Bound on establishing a new connection to an unreachable server.
  int connect_timeout_seconds = 3;
  // Bound on a statement sent to a server that stopped acknowledging it (a
  // vanished host): it fails instead of hanging until the kernel gives up,
  // about 15 minutes, with the group commit's writes queued behind it.
  int tcp_user_timeout_ms = 10'000;
};

// `dsn` with the bounds above (and TCP keepalives) added, where the DSN does
// not set them itself.
std::string WithConnectionBounds(const std::string& dsn,
                                 const PoolOptions& options);

struct PoolStats {
  int in_use = 0;
  int open = 0;
  // Callers waiting for a connection to come free.
  int waiting = 0;
};

// A bounded pool: at most `size` connections, opened lazily, and a broken
// connection is dropped so that the next caller opens a fresh one.
class ConnectionPool final {
 public:
  explicit ConnectionPool(PoolOptions options);
  ConnectionPool(const ConnectionPool&) = delete;
  ConnectionPool& operator=(const ConnectionPool&) = delete;

  // Runs `fn` on a pooled connection. libpqxx exceptions stop here and
  // become a Status: a lost or unreachable server is UNAVAILABLE.
  absl::Status Run(absl::FunctionRef<absl::Status(Connection&)> fn);
  // Run, with the statement in progress cancelled at `bound` and the
  // connection cut a grace later (see StatementWatchdog); `*fired` says
  // what the watchdog had to do. A connection it touched is not reused: a
  // late cancel could hit the next statement.
  absl::Status RunBounded(absl::Time bound, StatementWatchdog::Fired* fired,
                          absl::FunctionRef<absl::Status(Connection&)> fn);

  // Checks that the database answers.
  absl::Status Ping();

  int size() const { return options_.size; }
  PoolStats stats();

 private:
  absl::StatusOr<std::unique_ptr<Connection>> Acquire();
  void Return(std::unique_ptr<Connection> connection);
  void Discard();

  const PoolOptions options_;
  std::string dsn_;
  absl::Mutex mu_;
  std::vector<std::unique_ptr<Connection>> idle_ ABSL_GUARDED_BY(mu_);
  int open_ ABSL_GUARDED_BY(mu_) = 0;
  int waiting_ ABSL_GUARDED_BY(mu_) = 0;
  StatementWatchdog watchdog_;
};

// The Status for a libpqxx (or other) exception thrown by a database call.
absl::Status StatusFromException(const std::exception& e);

}  // namespace eventstore
