// Load generator: runs one named scenario with N workers for a fixed time,
// checks the scenario's invariant, and prints one machine-readable line.
//
//   shop_load --scenario=append-many-streams --concurrency=16 --duration_s=5
//   shop_load --scenario=reserve-many --inventory_address=127.0.0.1:50051
//
// Exit status: 0 when the invariant holds and no operation failed.

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/time/time.h"
#include "tests/bench/append_scenarios.h"
#include "tests/bench/grpc_scenarios.h"
#include "tests/bench/load_runner.h"
#include "tests/bench/window_counters.h"

ABSL_FLAG(std::string, scenario, "", "scenario to run (see --list)");
ABSL_FLAG(bool, list, false, "print the scenarios and exit");
ABSL_FLAG(int, concurrency, 1, "workers, each with one op in flight");
ABSL_FLAG(bool, worker_threads, false,
          "gRPC scenarios: one thread per worker making blocking calls, "
          "instead of callbacks starting each worker's next call");
ABSL_FLAG(double, duration_s, 5, "measured seconds");
ABSL_FLAG(double, warmup_s, 1, "seconds of unmeasured operations first");
ABSL_FLAG(std::string, dsn, "",
          "PostgreSQL connection string (default: $SHOP_PG_DSN)");
ABSL_FLAG(int, pool_size, 0,
          "database connections (0: one per worker, so no pool contention)");
ABSL_FLAG(std::string, inventory_address, "",
          "host:port of a running inventory-server (gRPC scenarios)");
ABSL_FLAG(std::string, cart_address, "",
          "host:port of a running cart-server (additem scenarios)");
ABSL_FLAG(int, grpc_channels, 1,
          "gRPC connections per server, shared by the workers round-robin");
ABSL_FLAG(std::string, watch_cpu, "",
          "processes whose CPU per op to report, as name=pid[+],... ('+' "
          "adds the children, e.g. a postmaster's backends)");
ABSL_FLAG(bool, count_xacts, false,
          "report database transactions per op (needs --dsn or $SHOP_PG_DSN)");
ABSL_FLAG(int, products, 1000, "products of the *-many scenarios");
ABSL_FLAG(int, append_batch, 1,
          "append scenarios: appends merged into one statement (group "
          "commit); 1 writes each alone");
ABSL_FLAG(int, append_batches_in_flight, 1,
          "append scenarios: merged statements written at once");
ABSL_FLAG(int, carts, 6000, "carts the additem scenarios make before the run");
ABSL_FLAG(int, lines_per_cart, 10,
          "AddItem calls per cart before a worker moves to a fresh cart");

namespace shop::bench {
namespace {

// The scenario table: a new workload is one more entry here.
const std::vector<ScenarioInfo>& Scenarios() {
  static const auto* const kScenarios = new std::vector<ScenarioInfo>{
      {"append-one-stream",
       "all workers append one event each to one stream, expected version any",
       MakeAppendOneStream},
      {"append-one-stream-exact",
       "all workers append to one stream with exact versions, retrying "
       "conflicts",
       MakeAppendOneStreamExact},
      {"append-many-streams",
       "each append creates a fresh stream, expected version no_stream",
       MakeAppendManyStreams},
      {"append-worker-streams",
       "each worker appends to its own stream with exact versions",
       MakeAppendWorkerStreams},
      {"health",
       "grpc.health.v1.Health/Check on --inventory_address: the gRPC "
       "ceiling, no database",
       MakeHealth},
      {"reserve-many",
       "ReserveStock of 1 unit on a random one of --products products",
       MakeReserveMany},
      {"reserve-hot", "ReserveStock of 1 unit, all workers on one product",
       MakeReserveHot},
      {"additem-many",
       "cart AddItem of 1 unit of a random one of --products products "
       "(cart -> inventory -> both databases)",
       MakeAddItemMany},
      {"additem-hot", "cart AddItem of 1 unit, all workers on one product",
       MakeAddItemHot},
  };
  return *kScenarios;
}

const ScenarioInfo* FindScenario(const std::string& name) {
  for (const ScenarioInfo& info : Scenarios()) {
    if (name == info.name) return &info;
  }
  return nullptr;
}

// Runs one scenario, prints its line; the exit status tells whether the
// run was clean.
int RunScenario(const ScenarioInfo& info, const LoadOptions& options,
                const RunOptions& run) {
  std::unique_ptr<Scenario> scenario = info.make(options);
  absl::StatusOr<RunReport> report = RunLoad(info, *scenario, run);
  if (!report.ok()) {
    std::fprintf(stderr, "shop_load: %s: %s\n", info.name,
                 report.status().ToString().c_str());
    return 1;
  }
  report->pool_size =
      options.pool_size > 0 ? options.pool_size : options.concurrency;
  std::printf("%s\n", FormatReport(*report).c_str());
  if (!report->invariant.ok()) {
    std::fprintf(stderr, "shop_load: %s: invariant broken: %s\n", info.name,
                 report->invariant.ToString().c_str());
    return 1;
  }
  if (report->total.errors > 0) {
    std::fprintf(stderr, "shop_load: %s: %lld operations failed\n", info.name,
                 static_cast<long long>(report->total.errors));
    return 1;
  }
  return 0;
}

int Main() {
  if (absl::GetFlag(FLAGS_list)) {
    for (const ScenarioInfo& info : Scenarios()) {
      std::printf("%-26s %s\n", info.name, info.description);
    }
    return 0;
  }
  LoadOptions options{
      .dsn = absl::GetFlag(FLAGS_dsn),
      .concurrency = absl::GetFlag(FLAGS_concurrency),
      .pool_size = absl::GetFlag(FLAGS_pool_size),
      .inventory_address = absl::GetFlag(FLAGS_inventory_address),
      .cart_address = absl::GetFlag(FLAGS_cart_address),
      .grpc_channels = absl::GetFlag(FLAGS_grpc_channels),
      .products = absl::GetFlag(FLAGS_products),
      .carts = absl::GetFlag(FLAGS_carts),
      .lines_per_cart = absl::GetFlag(FLAGS_lines_per_cart),
      .append_batch = absl::GetFlag(FLAGS_append_batch),
      .append_batches_in_flight =
          absl::GetFlag(FLAGS_append_batches_in_flight)};
  if (options.dsn.empty()) {
    const char* env = std::getenv("SHOP_PG_DSN");
    options.dsn = env == nullptr ? "" : env;
  }
  if (options.concurrency < 1 || absl::GetFlag(FLAGS_duration_s) <= 0 ||
      absl::GetFlag(FLAGS_warmup_s) < 0 || options.pool_size < 0 ||
      options.grpc_channels < 1 || options.products < 1 || options.carts < 1 ||
      options.lines_per_cart < 1 || options.append_batch < 1) {
    std::fprintf(stderr,
                 "shop_load: need --concurrency >= 1, --duration_s > 0, "
                 "--warmup_s >= 0, --pool_size >= 0, and --grpc_channels, "
                 "--products, --carts, --lines_per_cart, --append_batch >= "
                 "1\n");
    return 2;
  }

  const ScenarioInfo* info = FindScenario(absl::GetFlag(FLAGS_scenario));
  if (info == nullptr) {
    std::fprintf(stderr, "shop_load: unknown --scenario '%s' (see --list)\n",
                 absl::GetFlag(FLAGS_scenario).c_str());
    return 2;
  }

  RunOptions run;
  run.concurrency = options.concurrency;
  run.use_start = !absl::GetFlag(FLAGS_worker_threads);
  run.warmup = absl::Seconds(absl::GetFlag(FLAGS_warmup_s));
  run.duration = absl::Seconds(absl::GetFlag(FLAGS_duration_s));
  absl::StatusOr<std::vector<WindowCounter>> cpu =
      CpuCounters(absl::GetFlag(FLAGS_watch_cpu));
  if (!cpu.ok()) {
    std::fprintf(stderr, "shop_load: %s\n", cpu.status().ToString().c_str());
    return 2;
  }
  run.counters = *std::move(cpu);
  if (absl::GetFlag(FLAGS_count_xacts)) {
    for (WindowCounter& counter : TransactionCounters(options.dsn)) {
      run.counters.push_back(std::move(counter));
    }
  }
  return RunScenario(*info, options, run);
}

}  // namespace
}  // namespace shop::bench

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Runs one load scenario and prints one line of results.\n"
      "  shop_load --scenario=NAME [--concurrency=N] [--duration_s=S] "
      "[--dsn=DSN]");
  absl::ParseCommandLine(argc, argv);
  return shop::bench::Main();
}
