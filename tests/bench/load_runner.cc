#include "tests/bench/load_runner.h"

#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <functional>
#include <latch>
#include <thread>
#include <vector>

#include "absl/strings/str_format.h"
#include "absl/synchronization/blocking_counter.h"
#include "absl/synchronization/mutex.h"

namespace shop::bench {
namespace {

using Clock = std::chrono::steady_clock;

constexpr int kMaxErrorsLogged = 5;

// Each worker's own counters and samples, merged after the run; aligned so
// that workers on different cores do not share cache lines.
struct alignas(64) WorkerRecord {
  Tally window;
  Tally total;
  std::vector<int64_t> latencies_ns;
};

double CpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) +
           static_cast<double>(t.tv_usec) * 1e-6;
  };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

// Nearest-rank percentile of sorted samples, in milliseconds.
double PercentileMs(const std::vector<int64_t>& sorted, double percentile) {
  if (sorted.empty()) return 0;
  size_t rank = static_cast<size_t>(percentile / 100.0 *
                                    static_cast<double>(sorted.size()));
  if (rank >= sorted.size()) rank = sorted.size() - 1;
  return static_cast<double>(sorted[rank]) / 1e6;
}

// Errors are logged, a few of them: enough to diagnose, not to flood.
class ErrorLog final {
 public:
  void Log(int worker, const absl::Status& status) {
    absl::MutexLock lock(&mu_);
    if (++count_ > kMaxErrorsLogged) return;
    std::fprintf(stderr, "shop_load: worker %d: %s\n", worker,
                 status.ToString().c_str());
  }

 private:
  absl::Mutex mu_;
  int count_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace

void Tally::Add(const OpResult& result) {
  switch (result.outcome) {
    case Outcome::kOk:
      ++ok;
      break;
    case Outcome::kRefused:
      ++refused;
      break;
    case Outcome::kError:
      ++errors;
      break;
  }
  conflicts += result.conflicts;
}

void Tally::Merge(const Tally& other) {
  ok += other.ok;
  refused += other.refused;
  errors += other.errors;
  conflicts += other.conflicts;
}

absl::StatusOr<RunReport> RunLoad(const ScenarioInfo& info, Scenario& scenario,
                                  const RunOptions& options) {
  if (absl::Status setup = scenario.Setup(); !setup.ok()) {
    absl::Status teardown = scenario.Teardown();
    if (!teardown.ok()) {
      std::fprintf(stderr, "shop_load: teardown: %s\n",
                   teardown.ToString().c_str());
    }
    return setup;
  }

  std::vector<WorkerRecord> records(options.concurrency);
  ErrorLog errors;
  // Set before the first operation starts, then read-only.
  Clock::time_point window_start;
  Clock::time_point window_end;
  auto record = [&](int w, Clock::time_point start, const OpResult& result) {
    const Clock::time_point end = Clock::now();
    WorkerRecord& self = records[w];
    self.total.Add(result);
    if (result.outcome == Outcome::kError) errors.Log(w, result.error);
    if (start < window_start) return;
    self.window.Add(result);
    if (result.outcome != Outcome::kError) {
      self.latencies_ns.push_back(
          std::chrono::duration_cast<std::chrono::nanoseconds>(end - start)
              .count());
    }
  };
  auto open_window = [&] {
    window_start = Clock::now() + absl::ToChronoNanoseconds(options.warmup);
    window_end = window_start + absl::ToChronoNanoseconds(options.duration);
  };
  for (WorkerRecord& self : records) self.latencies_ns.reserve(1 << 16);

  std::vector<std::thread> workers;
  absl::BlockingCounter stopped(options.concurrency);
  // Start mode: each worker's next operation starts from the callback of
  // its previous one.
  std::function<void(int)> start_next = [&](int w) {
    const Clock::time_point start = Clock::now();
    if (start >= window_end) {
      stopped.DecrementCount();
      return;
    }
    scenario.Start(w, [&, w, start](OpResult result) {
      record(w, start, result);
      start_next(w);
    });
  };
  if (options.use_start && scenario.CanStart()) {
    open_window();
    for (int w = 0; w < options.concurrency; ++w) start_next(w);
  } else {
    std::latch ready(options.concurrency + 1);
    std::atomic<bool> go = false;
    workers.reserve(options.concurrency);
    for (int w = 0; w < options.concurrency; ++w) {
      workers.emplace_back([&, w] {
        ready.arrive_and_wait();
        while (!go.load(std::memory_order_acquire)) std::this_thread::yield();
        while (true) {
          const Clock::time_point start = Clock::now();
          if (start >= window_end) break;
          record(w, start, scenario.Run(w));
        }
        stopped.DecrementCount();
      });
    }
    ready.arrive_and_wait();
    open_window();
    go.store(true, std::memory_order_release);
  }
  auto read_counters = [&] {
    std::vector<double> values;
    for (const WindowCounter& counter : options.counters) {
      values.push_back(counter.read());
    }
    return values;
  };
  std::this_thread::sleep_until(window_start);
  const double cpu_start = CpuSeconds();
  const std::vector<double> counters_start = read_counters();
  std::this_thread::sleep_until(window_end);
  const double cpu_end = CpuSeconds();
  const std::vector<double> counters_end = read_counters();
  stopped.Wait();
  for (std::thread& worker : workers) worker.join();

  RunReport report;
  report.scenario = info.name;
  report.concurrency = options.concurrency;
  report.measured = options.duration;
  std::vector<int64_t> latencies;
  for (WorkerRecord& record : records) {
    report.window.Merge(record.window);
    report.total.Merge(record.total);
    latencies.insert(latencies.end(), record.latencies_ns.begin(),
                     record.latencies_ns.end());
  }
  std::sort(latencies.begin(), latencies.end());
  const double seconds = absl::ToDoubleSeconds(options.duration);
  report.throughput = static_cast<double>(report.window.ok) / seconds;
  report.p50_ms = PercentileMs(latencies, 50);
  report.p99_ms = PercentileMs(latencies, 99);
  report.max_ms = PercentileMs(latencies, 100);
  const int64_t answered = report.window.ok + report.window.refused;
  report.client_cpu_us_per_op =
      answered > 0 ? (cpu_end - cpu_start) * 1e6 / static_cast<double>(answered)
                   : 0;

  for (size_t i = 0; i < options.counters.size(); ++i) {
    report.counters_per_op.emplace_back(
        options.counters[i].name, answered > 0
                                      ? (counters_end[i] - counters_start[i]) /
                                            static_cast<double>(answered)
                                      : 0);
  }

  report.invariant = scenario.Check(report.total);
  if (absl::Status teardown = scenario.Teardown(); !teardown.ok()) {
    return teardown;
  }
  return report;
}

std::string FormatReport(const RunReport& report) {
  std::string counters;
  for (const auto& [name, per_op] : report.counters_per_op) {
    absl::StrAppendFormat(&counters, " %s_per_op=%.2f", name, per_op);
  }
  return absl::StrFormat(
      "shop_load scenario=%s concurrency=%d pool=%d duration_s=%.1f ops=%d "
      "refused=%d errors=%d conflicts=%d throughput_ops_s=%.1f p50_ms=%.3f "
      "p99_ms=%.3f max_ms=%.3f client_cpu_us_per_op=%.1f%s total_ops=%d "
      "invariant=%s",
      report.scenario, report.concurrency, report.pool_size,
      absl::ToDoubleSeconds(report.measured), report.window.ok,
      report.window.refused, report.window.errors, report.window.conflicts,
      report.throughput, report.p50_ms, report.p99_ms, report.max_ms,
      report.client_cpu_us_per_op, counters, report.total.ok,
      report.invariant.ok() ? "ok" : "broken");
}

}  // namespace shop::bench
