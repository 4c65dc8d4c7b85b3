#include "tests/bench/window_counters.h"

#include <dirent.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "pqxx/pqxx"

namespace shop::bench {
namespace {

// The fields of /proc/<pid>/stat after the command name, numbered as in
// proc(5): fields[0] is field 3 (state).
struct ProcStat {
  int ppid = 0;
  double own_ticks = 0;       // utime + stime
  double children_ticks = 0;  // cutime + cstime (reaped children)
};

bool ReadStat(int pid, ProcStat* out) {
  std::ifstream file(absl::StrCat("/proc/", pid, "/stat"));
  std::string text((std::istreambuf_iterator<char>(file)),
                   std::istreambuf_iterator<char>());
  // The command name is in parentheses and may hold spaces.
  const size_t close = text.rfind(')');
  if (close == std::string::npos) return false;
  std::vector<std::string> fields =
      absl::StrSplit(text.substr(close + 2), ' ', absl::SkipEmpty());
  if (fields.size() < 15) return false;
  auto at = [&](int field) { return std::atof(fields[field - 3].c_str()); };
  out->ppid = static_cast<int>(at(4));
  out->own_ticks = at(14) + at(15);
  out->children_ticks = at(16) + at(17);
  return true;
}

std::vector<int> ChildrenOf(int parent) {
  std::vector<int> children;
  std::unique_ptr<DIR, int (*)(DIR*)> proc(opendir("/proc"), closedir);
  if (proc == nullptr) return children;
  while (dirent* entry = readdir(proc.get())) {
    int pid = 0;
    if (!absl::SimpleAtoi(entry->d_name, &pid)) continue;
    ProcStat stat;
    if (ReadStat(pid, &stat) && stat.ppid == parent) children.push_back(pid);
  }
  return children;
}

}  // namespace

double ProcessCpuMicros(int pid, bool children) {
  static const double kMicrosPerTick =
      1e6 / static_cast<double>(sysconf(_SC_CLK_TCK));
  ProcStat stat;
  if (!ReadStat(pid, &stat)) return 0;
  double ticks = stat.own_ticks;
  if (children) {
    ticks += stat.children_ticks;
    for (int child : ChildrenOf(pid)) {
      ProcStat child_stat;
      if (ReadStat(child, &child_stat)) ticks += child_stat.own_ticks;
    }
  }
  return ticks * kMicrosPerTick;
}

absl::StatusOr<std::vector<WindowCounter>> CpuCounters(
    const std::string& spec) {
  std::vector<WindowCounter> counters;
  for (absl::string_view entry : absl::StrSplit(spec, ',', absl::SkipEmpty())) {
    std::pair<std::string, std::string> parts = absl::StrSplit(entry, '=');
    bool children = !parts.second.empty() && parts.second.back() == '+';
    if (children) parts.second.pop_back();
    int pid = 0;
    if (parts.first.empty() || !absl::SimpleAtoi(parts.second, &pid) ||
        pid <= 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("--watch_cpu: expected name=pid[+], got '", entry, "'"));
    }
    counters.push_back(
        {absl::StrCat("cpu_", parts.first, "_us"),
         [pid, children] { return ProcessCpuMicros(pid, children); }});
  }
  return counters;
}

std::vector<WindowCounter> TransactionCounters(const std::string& dsn) {
  // One connection, opened on first use, shared by both counters.
  struct Probe {
    absl::Mutex mu;
    std::unique_ptr<pqxx::connection> connection ABSL_GUARDED_BY(mu);
    const std::string dsn;
    explicit Probe(std::string d) : dsn(std::move(d)) {}
    double Query(const char* sql) {
      absl::MutexLock lock(&mu);
      try {
        if (connection == nullptr) {
          connection = std::make_unique<pqxx::connection>(dsn);
        }
        pqxx::nontransaction tx(*connection);
        return tx.exec1(sql)[0].as<double>();
      } catch (const std::exception&) {
        return 0;
      }
    }
  };
  auto probe = std::make_shared<Probe>(dsn);
  return {
      {"xacts",
       [probe] {
         return probe->Query(
             "SELECT xact_commit + xact_rollback FROM pg_stat_database "
             "WHERE datname = current_database()");
       }},
      {"write_xacts",
       [probe] {
         return probe->Query("SELECT pg_current_xact_id()::text::bigint");
       }},
      {"wal_bytes",
       [probe] {
         return probe->Query("SELECT pg_current_wal_lsn() - '0/0'::pg_lsn");
       }},
  };
}

}  // namespace shop::bench
