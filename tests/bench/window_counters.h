#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "tests/bench/load_runner.h"

namespace shop::bench {

// CPU time (user + system) a process has used so far, in microseconds,
// read from /proc. With `children`, also what its children used: the
// reaped ones (cutime, cstime) and the live ones, so that a PostgreSQL
// postmaster counts every backend, including those that exited meanwhile.
double ProcessCpuMicros(int pid, bool children);

// Counters from a spec like "inventory=123,postgres=456+": one
// `cpu_<name>_us` counter per entry, a trailing '+' adding the children.
absl::StatusOr<std::vector<WindowCounter>> CpuCounters(const std::string& spec);

// The database's transactions so far (pg_stat_database, all of them, but
// busy backends report theirs only about once a second, so a short window
// is off by up to a second's worth), the transaction ids handed out (exact,
// but only transactions that wrote) and the WAL written (exact), as
// counters `xacts`, `write_xacts` and `wal_bytes`.
std::vector<WindowCounter> TransactionCounters(const std::string& dsn);

}  // namespace shop::bench
