#include "common/server/startup.h"

#include <malloc.h>

#include <cstdio>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "common/eventstore/position_token.h"
#include "common/eventstore/projection.h"
#include "common/logging/log.h"
#include "common/server/periodic_task.h"

// gperftools' tcmalloc, when the program links it (the servers do).
extern "C" int MallocExtension_GetNumericProperty(const char* property,
                                                  size_t* value)
    __attribute__((weak));
extern "C" void MallocExtension_ReleaseToSystem(size_t num_bytes)
    __attribute__((weak));

namespace shop {
namespace {

// Below this the pages stay: the next calls would only fault them back in.
constexpr size_t kKeptFreeBytes = 8 << 20;

void ReturnFreeMemory() {
  if (MallocExtension_ReleaseToSystem == nullptr ||
      MallocExtension_GetNumericProperty == nullptr) {
    malloc_trim(kKeptFreeBytes);
    return;
  }
  size_t free_bytes = 0;
  if (MallocExtension_GetNumericProperty("tcmalloc.pageheap_free_bytes",
                                         &free_bytes) != 0 &&
      free_bytes > kKeptFreeBytes) {
    MallocExtension_ReleaseToSystem(free_bytes - kKeptFreeBytes);
  }
}

}  // namespace

absl::Status RetryWhileUnavailable(const std::function<absl::Status()>& step,
                                   absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    absl::Status status = step();
    if (status.ok() || status.code() != absl::StatusCode::kUnavailable ||
        absl::Now() > deadline) {
      return status;
    }
    LogJson("warn",
            absl::StrCat("waiting for the database: ", status.message()));
    // The signals are blocked until serving: look for them between tries,
    // so that a pod deleted while it waits goes at once.
    for (int i = 0; i < 10; ++i) {
      if (TerminationPending()) {
        return absl::CancelledError(
            "terminated while waiting for the database");
      }
      absl::SleepFor(absl::Milliseconds(100));
    }
  }
}

int MigrateMain(eventstore::ConnectionPool& owner_pool,
                const std::string& schema, const std::string& serving_role,
                const std::vector<eventstore::Migration>& migrations,
                absl::Duration timeout) {
  absl::Status migrated = RetryWhileUnavailable(
      [&] {
        return eventstore::Migrate(owner_pool, schema, migrations,
                                   serving_role);
      },
      timeout);
  if (absl::IsCancelled(migrated)) {
    LogJson("info", absl::StrCat("stopped: ", migrated.message()));
    return 0;
  }
  if (!migrated.ok()) {
    LogJson("error", absl::StrCat("migrations failed: ", migrated.ToString()));
    return 1;
  }
  LogJson("info", absl::StrCat("migrations applied; serving role ",
                               serving_role, " granted"));
  return 0;
}

std::optional<int> CheckSchemaForMain(
    eventstore::ConnectionPool& pool, const std::string& schema,
    const std::vector<eventstore::Migration>& migrations,
    absl::Duration timeout) {
  absl::Status checked = RetryWhileUnavailable(
      [&] { return eventstore::CheckServingSchema(pool, schema, migrations); },
      timeout);
  if (absl::IsCancelled(checked)) {
    LogJson("info", absl::StrCat("stopped: ", checked.message()));
    return 0;
  }
  if (!checked.ok()) {
    LogJson("error", absl::StrCat("cannot serve schema ", schema, ": ",
                                  checked.message()));
    return 1;
  }
  return std::nullopt;
}

void ServeUntilTerminated(Server& server) {
  // Detached: it may still wait in sigwait when the process exits.
  std::thread([&server] {
    AwaitTerminationSignal();
    server.Shutdown();
  }).detach();
  server.Wait();
  LogJson("info", "stopped");
}

int ServeMain(const std::string& program, ServerOptions options,
              std::vector<grpc::Service*> services,
              const std::string& database_url) {
  // Debian's Abseil is built without NDEBUG, which would keep a lock graph
  // on every mutex acquisition of the hot path.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  // Readiness has its own connection so a busy pool does not look like an
  // outage.
  eventstore::ConnectionPool health_pool({.dsn = database_url, .size = 1});
  options.readiness_check = [&health_pool,
                             also = std::move(options.readiness_check)] {
    if (absl::Status reachable = health_pool.Ping(); !reachable.ok()) {
      return reachable;
    }
    return also();
  };
  absl::StatusOr<std::unique_ptr<Server>> server =
      Server::Start(std::move(options), std::move(services));
  if (!server.ok()) {
    LogJson("error", server.status().ToString());
    return 1;
  }
  LogJson("info",
          absl::StrCat(program, " listening on port ", (*server)->port()));
  if ((*server)->metrics_port() != 0) {
    LogJson("info", absl::StrCat(program, " serving metrics on port ",
                                 (*server)->metrics_port()));
  }
  if ((*server)->console_port() != 0) {
    LogJson("info", absl::StrCat(program, " serving the console on port ",
                                 (*server)->console_port()));
  }
  // The allocator keeps what freed buffers leave (a burst of large requests
  // would hold its peak for good): give it back to the system.
  PeriodicTask return_free_memory(absl::Seconds(5), ReturnFreeMemory);
  ServeUntilTerminated(**server);
  return 0;
}

std::unique_ptr<eventstore::Feed> StartFeedForMain(
    eventstore::EventStore& events, const std::string& database_url,
    int max_subscribers) {
  auto feed = std::make_unique<eventstore::Feed>(
      &events, eventstore::FeedOptions{.dsn = database_url,
                                       .max_subscribers = max_subscribers});
  if (absl::Status started = feed->Start(); !started.ok()) {
    LogJson("error",
            absl::StrCat("cannot start the event feed: ", started.ToString()));
    return nullptr;
  }
  return feed;
}

ServerCommand ParseServerCommand(const std::vector<std::string>& args,
                                 const char* program) {
  if (args.size() == 1) return ServerCommand::kServe;
  if (args.size() == 2 && args[1] == "migrate") return ServerCommand::kMigrate;
  if (args.size() == 3 && args[1] == "projections" && args[2] == "status") {
    return ServerCommand::kProjectionStatus;
  }
  if (args.size() == 4 && args[1] == "projections" && args[2] == "rebuild") {
    return ServerCommand::kProjectionRebuild;
  }
  std::fprintf(stderr,
               "usage: %s [migrate | projections status | projections "
               "rebuild NAME] [--flags]\n",
               program);
  return ServerCommand::kUsage;
}

int PrintProjectionStatus(eventstore::ConnectionPool& pool,
                          const std::string& schema) {
  absl::StatusOr<std::vector<eventstore::ProjectionRow>> rows =
      eventstore::ReadProjections(pool, schema);
  if (!rows.ok()) {
    std::fprintf(stderr, "cannot read the projections: %s\n",
                 rows.status().ToString().c_str());
    return 1;
  }
  bool stalled = false;
  std::printf("%-16s %-10s %10s  %-22s %s\n", "PROJECTION", "STATE", "BEHIND",
              "UPDATED", "POSITION");
  for (const eventstore::ProjectionRow& row : *rows) {
    const char* state =
        !row.error.empty() ? "stalled" : (row.led ? "running" : "no-leader");
    stalled = stalled || !row.error.empty();
    std::printf("%-16s %-10s %10lld  %-22s %s\n", row.name.c_str(), state,
                static_cast<long long>(row.behind),
                absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", row.updated_at,
                                 absl::UTCTimeZone())
                    .c_str(),
                eventstore::EncodePositionToken(row.position).c_str());
    if (!row.error.empty()) std::printf("  error: %s\n", row.error.c_str());
  }
  return stalled ? 1 : 0;
}

int RebuildProjectionMain(
    const std::string& owner_dsn, const std::string& schema,
    const std::string& serving_role,
    const std::function<std::vector<eventstore::RebuildableModel>(
        eventstore::EventStore*)>& models_of,
    const std::string& name) {
  // One connection reads the events while the other writes the new rows.
  eventstore::ConnectionPool owner_pool({.dsn = owner_dsn, .size = 2});
  eventstore::EventStore events(&owner_pool, schema);
  const std::vector<eventstore::RebuildableModel> models = models_of(&events);
  for (const eventstore::RebuildableModel& model : models) {
    if (model.name != name) continue;
    absl::StatusOr<eventstore::GlobalPosition> rebuilt =
        eventstore::RebuildProjection(owner_pool, events, model,
                                      {.serving_role = serving_role});
    if (!rebuilt.ok()) {
      LogJson("error", absl::StrCat("projection ", name, ": rebuild failed, ",
                                    "the live read model is unchanged: ",
                                    rebuilt.status().ToString()));
      return 1;
    }
    return 0;
  }
  std::vector<std::string> names;
  for (const eventstore::RebuildableModel& model : models) {
    names.push_back(model.name);
  }
  LogJson("error", absl::StrCat("no projection ", name, ": one of ",
                                absl::StrJoin(names, ", ")));
  return 2;
}

void ExportPoolMetrics(eventstore::ConnectionPool& pool,
                       metrics::Registry& registry) {
  registry.OnCollect([&pool, &registry] {
    const eventstore::PoolStats stats = pool.stats();
    const char* help = "Database connections of the pool, by state.";
    registry.GetGauge("shop_db_pool_connections", help, {{"state", "in_use"}})
        ->Set(stats.in_use);
    registry.GetGauge("shop_db_pool_connections", help, {{"state", "open"}})
        ->Set(stats.open);
    registry
        .GetGauge("shop_db_pool_waiting",
                  "Callers waiting for a free database connection.")
        ->Set(stats.waiting);
  });
}

std::function<absl::Status()> WritesGetThrough(
    const eventstore::EventStore& events, absl::Duration bound) {
  return [&events, bound] {
    const absl::Duration waited = events.OldestWriteAge();
    if (waited > bound) {
      return absl::UnavailableError(absl::StrCat(
          "a write has waited ", absl::FormatDuration(waited),
          " for the database (bound ", absl::FormatDuration(bound), ")"));
    }
    // Bounded, so not for ever: without traffic nothing would clear it.
    const std::optional<absl::Time> timed_out = events.UnansweredWriteTimeout();
    const absl::Duration since =
        timed_out.has_value() ? absl::Now() - *timed_out : bound;
    if (since < bound) {
      return absl::UnavailableError(
          absl::StrCat("a write timed out ", absl::FormatDuration(since),
                       " ago and none has finished in time since"));
    }
    return absl::OkStatus();
  };
}

}  // namespace shop
