// Owns database sessions: the bounded pool, the connection bounds added to
// a DSN, and the mapping of libpqxx exceptions to absl::Status.
#include "common/eventstore/connection_pool.h"

#include <libpq-fe.h>

#include <optional>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/metrics/metrics.h"

namespace eventstore {
namespace {

// Counts a failed database operation by what went wrong, so an operator
// tells an outage (connection) from contention (conflict) from a bug.
void CountError(const char* kind) {
  shop::metrics::Default()
      .GetCounter("shop_db_errors_total",
                  "Failed database operations, by kind of failure.",
                  {{"kind", kind}})
      ->Increment();
}

// The keywords `dsn` sets, as libpq itself reads them (a value that merely
// contains a keyword, such as a password, sets nothing); empty if libpq
// cannot parse it, which the connection attempt then reports.
absl::flat_hash_set<std::string> KeywordsSet(const std::string& dsn) {
  absl::flat_hash_set<std::string> keywords;
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(dsn.c_str(), &error);
  if (error != nullptr) PQfreemem(error);
  if (options == nullptr) return keywords;
  for (const PQconninfoOption* option = options; option->keyword != nullptr;
       ++option) {
    if (option->val != nullptr) keywords.insert(option->keyword);
  }
  PQconninfoFree(options);
  return keywords;
}

bool IsUri(const std::string& dsn) {
  return absl::StartsWith(dsn, "postgres://") ||
         absl::StartsWith(dsn, "postgresql://");
}

}  // namespace

std::string WithConnectionBounds(const std::string& dsn,
                                 const PoolOptions& options) {
  const absl::flat_hash_set<std::string> set = KeywordsSet(dsn);
  std::string bounded = dsn;
  // Adds libpq option `key` unless the caller set it.
  auto add = [&](absl::string_view key, int value) {
    if (set.contains(key)) return;
    if (IsUri(dsn)) {
      absl::StrAppend(&bounded, absl::StrContains(bounded, "?") ? "&" : "?",
                      key, "=", value);
    } else {
      absl::StrAppend(&bounded, " ", key, "=", value);
    }
  };
  add("connect_timeout", options.connect_timeout_seconds);
  add("tcp_user_timeout", options.tcp_user_timeout_ms);
  // A connection to a vanished server that is idle, or waiting for a reply,
  // is found within about a minute.
  add("keepalives_idle", 30);
  add("keepalives_interval", 10);
  add("keepalives_count", 3);
  return bounded;
}

Connection::Connection(const std::string& dsn) : connection_(dsn) {
  // Every statement of the store is an index lookup or range. A prepared
  // statement's generic plan is fixed once, maybe while a table is tiny; a
  // sequential scan chosen then would stay as the table grows.
  pqxx::nontransaction(connection_).exec("SET enable_seqscan = off");
}

void Connection::Prepare(const std::string& name, const std::string& sql) {
  if (prepared_.contains(name)) return;
  connection_.prepare(name, sql);
  prepared_.insert(name);
}

ConnectionPool::ConnectionPool(PoolOptions options)
    : options_(std::move(options)),
      dsn_(WithConnectionBounds(options_.dsn, options_)) {}

PoolStats ConnectionPool::stats() {
  absl::MutexLock lock(&mu_);
  return {open_ - static_cast<int>(idle_.size()), open_, waiting_};
}

absl::StatusOr<std::unique_ptr<Connection>> ConnectionPool::Acquire() {
  {
    absl::MutexLock lock(&mu_);
    auto can_proceed = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return !idle_.empty() || open_ < options_.size;
    };
    ++waiting_;
    const bool free = mu_.AwaitWithTimeout(absl::Condition(&can_proceed),
                                           options_.acquire_timeout);
    --waiting_;
    if (!free) {
      CountError("pool_timeout");
      return absl::UnavailableError(
          absl::StrCat("no database connection free within ",
                       absl::FormatDuration(options_.acquire_timeout)));
    }
    if (!idle_.empty()) {
      std::unique_ptr<Connection> connection = std::move(idle_.back());
      idle_.pop_back();
      return connection;
    }
    ++open_;
  }
  try {
    return std::make_unique<Connection>(dsn_);
  } catch (const std::exception& e) {
    Discard();
    CountError("connect");
    return absl::UnavailableError(
        absl::StrCat("cannot connect to the database: ", e.what()));
  }
}

void ConnectionPool::Return(std::unique_ptr<Connection> connection) {
  absl::MutexLock lock(&mu_);
  idle_.push_back(std::move(connection));
}

void ConnectionPool::Discard() {
  absl::MutexLock lock(&mu_);
  --open_;
}

absl::Status ConnectionPool::Run(
    absl::FunctionRef<absl::Status(Connection&)> fn) {
  StatementWatchdog::Fired fired;
  return RunBounded(absl::InfiniteFuture(), &fired, fn);
}

absl::Status ConnectionPool::RunBounded(
    absl::Time bound, StatementWatchdog::Fired* fired,
    absl::FunctionRef<absl::Status(Connection&)> fn) {
  *fired = StatementWatchdog::Fired::kNo;
  absl::StatusOr<std::unique_ptr<Connection>> connection = Acquire();
  if (!connection.ok()) return connection.status();
  absl::Status status;
  {
    std::optional<StatementWatchdog::Scope> watched;
    if (bound != absl::InfiniteFuture()) {
      watched.emplace(watchdog_, (*connection)->raw(), bound);
    }
    try {
      status = fn(**connection);
    } catch (const std::exception& e) {
      status = StatusFromException(e);
    }
    if (watched.has_value()) *fired = watched->fired();
  }
  if (status.code() == absl::StatusCode::kUnavailable ||
      *fired != StatementWatchdog::Fired::kNo ||
      !(*connection)->raw().is_open()) {
    // The session may be gone; a fresh one is cheaper than a doubtful one.
    connection->reset();
    Discard();
  } else {
    Return(*std::move(connection));
  }
  return status;
}

absl::Status ConnectionPool::Ping() {
  return Run([](Connection& connection) {
    pqxx::nontransaction tx(connection.raw());
    tx.exec("SELECT 1");
    return absl::OkStatus();
  });
}

absl::Status StatusFromException(const std::exception& e) {
  const std::string message = absl::StrCat("database: ", e.what());
  // libpqxx picks these classes by SQLSTATE; some (42501, 40001, 40P01) it
  // throws without sqlstate(), so the class is the code we can rely on.
  if (dynamic_cast<const pqxx::broken_connection*>(&e) != nullptr ||
      dynamic_cast<const pqxx::in_doubt_error*>(&e) != nullptr) {
    CountError("connection");
    return absl::UnavailableError(message);
  }
  // Serialization failure and deadlock (class 40): the caller may retry.
  if (dynamic_cast<const pqxx::transaction_rollback*>(&e) != nullptr) {
    CountError("conflict");
    return absl::AbortedError(message);
  }
  if (dynamic_cast<const pqxx::insufficient_privilege*>(&e) != nullptr) {
    CountError("privilege");
    return absl::PermissionDeniedError(message);
  }
  if (const auto* sql = dynamic_cast<const pqxx::sql_error*>(&e)) {
    const std::string& state = sql->sqlstate();
    // Connection exceptions (08), shutdown and crash recovery (57P0x), and a
    // server that takes no writes now (25006: a standby, or a primary that
    // HA failover is promoting or demoting): another connection may find the
    // primary.
    if (absl::StartsWith(state, "08") || absl::StartsWith(state, "57P") ||
        state == "25006") {
      CountError("connection");
      return absl::UnavailableError(message);
    }
    if (state == "57014") {
      CountError("timeout");
      return absl::DeadlineExceededError(message);
    }
    if (state == "42501") {
      CountError("privilege");
      return absl::PermissionDeniedError(message);
    }
    if (dynamic_cast<const pqxx::data_exception*>(&e) != nullptr ||
        absl::StartsWith(state, "22")) {
      CountError("data");
      return absl::InvalidArgumentError(message);
    }
  }
  CountError("other");
  return absl::InternalError(message);
}

}  // namespace eventstore
