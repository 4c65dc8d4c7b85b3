#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace shop::bench {

// What every scenario may need, filled from the command line. gRPC
// scenarios add their target addresses here.
struct LoadOptions {
  std::string dsn;
  int concurrency = 1;
  // Database connections; 0 means one per worker (no pool contention).
  int pool_size = 0;
  // gRPC scenarios: where the servers listen (host:port).
  std::string inventory_address;
  std::string cart_address;
  // gRPC connections per server that the workers share round-robin.
  int grpc_channels = 1;
  // Products of the "many" scenarios.
  int products = 1000;
  // Cart scenarios: carts made before the run, and the lines a cart gets
  // before its worker moves on to a fresh one (cart state grows per line).
  int carts = 2000;
  int lines_per_cart = 10;
  // Append scenarios: appends merged per statement (1: each alone).
  int append_batch = 1;
  int append_batches_in_flight = 1;
};

// How one operation ended.
enum class Outcome {
  kOk,
  // An answer the workload expects (e.g. insufficient stock): not an error.
  kRefused,
  kError,
};

struct OpResult {
  Outcome outcome = Outcome::kOk;
  // Optimistic-concurrency conflicts the operation retried through.
  int conflicts = 0;
  absl::Status error;  // why, when outcome is kError
};

struct Tally {
  int64_t ok = 0;
  int64_t refused = 0;
  int64_t errors = 0;
  int64_t conflicts = 0;

  void Add(const OpResult& result);
  void Merge(const Tally& other);
};

// A workload: set up state, one operation run by N workers, each with one
// in flight, until time is up, then a check of the end state against what
// the workers saw.
class Scenario {
 public:
  virtual ~Scenario() = default;

  virtual absl::Status Setup() = 0;
  // One operation by `worker` (0 .. concurrency-1). Workers call it in
  // parallel; one worker never calls it twice at once.
  virtual OpResult Run(int worker) = 0;
  // Called once when a started operation ends, on any thread.
  using Done = absl::AnyInvocable<void(OpResult) &&>;
  // True when Start begins an operation without waiting for it. The runner
  // then keeps one operation per worker in flight from the completion
  // callbacks, not from one blocked thread per worker, so the load
  // generator takes less of the machine it measures.
  virtual bool CanStart() const { return false; }
  // Starts one operation by `worker`; same contract as Run.
  virtual void Start(int worker, Done done) { std::move(done)(Run(worker)); }
  // The invariant, given every operation of the run (warm-up included).
  virtual absl::Status Check(const Tally& total) = 0;
  // Undoes Setup; called whether or not Check passed.
  virtual absl::Status Teardown() = 0;
};

// One entry of the scenario table.
struct ScenarioInfo {
  const char* name;
  const char* description;
  std::function<std::unique_ptr<Scenario>(const LoadOptions&)> make;
};

// A monotonic figure read at both ends of the measured window and reported
// per operation (e.g. a server's CPU time, the database's commits).
struct WindowCounter {
  std::string name;
  std::function<double()> read;
};

struct RunOptions {
  int concurrency = 1;
  // Use Scenario::Start where the scenario has it (see CanStart).
  bool use_start = true;
  // Operations before the measured window: opens connections, prepares
  // statements, warms caches. They still count for the invariant.
  absl::Duration warmup = absl::Seconds(1);
  absl::Duration duration = absl::Seconds(5);
  std::vector<WindowCounter> counters;
};

struct RunReport {
  std::string scenario;
  int concurrency = 0;
  int pool_size = 0;
  absl::Duration measured;
  Tally window;           // operations started inside the measured window
  Tally total;            // every operation, warm-up included
  double throughput = 0;  // successful operations per second in the window
  // Latency of answered (ok or refused) operations in the window.
  double p50_ms = 0;
  double p99_ms = 0;
  double max_ms = 0;
  // This process's CPU time (user + system) per operation in the window.
  double client_cpu_us_per_op = 0;
  // Each counter's growth over the window per answered operation, in the
  // order of RunOptions::counters.
  std::vector<std::pair<std::string, double>> counters_per_op;
  absl::Status invariant;
};

// Setup, the workers, Check, Teardown. An error means the run could not be
// made; a broken invariant is reported in RunReport::invariant.
absl::StatusOr<RunReport> RunLoad(const ScenarioInfo& info, Scenario& scenario,
                                  const RunOptions& options);

// The one machine-readable line: `shop_load key=value ...`.
std::string FormatReport(const RunReport& report);

}  // namespace shop::bench
