#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "common/eventstore/connection_pool.h"
#include "common/eventstore/event_store.h"
#include "common/eventstore/feed.h"
#include "common/eventstore/migrations.h"
#include "common/eventstore/projection_rebuild.h"
#include "common/metrics/metrics.h"
#include "common/server/server.h"

// What both servers' main() does around serving.
namespace shop {

// What a server was asked to do by its arguments (after the flags).
enum class ServerCommand {
  kServe,              // no argument
  kMigrate,            // `migrate`
  kProjectionStatus,   // `projections status`
  kProjectionRebuild,  // `projections rebuild NAME` (args[3])
  kUsage,              // anything else: print usage, exit 2
};
// Parses `args` (args[0] is the program); on kUsage it has printed the
// usage of `program` to stderr.
ServerCommand ParseServerCommand(const std::vector<std::string>& args,
                                 const char* program);

// Runs `step` (a migration or a schema check), trying again while it is
// UNAVAILABLE (a database still coming up) for up to `timeout`; other
// failures return at once, and a pending SIGTERM or SIGINT ends the wait
// with CANCELLED.
absl::Status RetryWhileUnavailable(const std::function<absl::Status()>& step,
                                   absl::Duration timeout);

// `migrate`: applies the migrations through `owner_pool` (the schema
// owner's connection) and grants `serving_role` what serving needs; logs
// the outcome and returns the exit code.
int MigrateMain(eventstore::ConnectionPool& owner_pool,
                const std::string& schema, const std::string& serving_role,
                const std::vector<eventstore::Migration>& migrations,
                absl::Duration timeout);

// Before serving: checks that `schema` is migrated and that the pool's role
// cannot alter it (eventstore::CheckServingSchema), waiting as
// RetryWhileUnavailable. Returns the exit code when the process should stop
// here, nothing when it may serve.
std::optional<int> CheckSchemaForMain(
    eventstore::ConnectionPool& pool, const std::string& schema,
    const std::vector<eventstore::Migration>& migrations,
    absl::Duration timeout);

// `projections status`: prints each projection of `schema` (its state, the
// events it is behind, its position, its last change and, when stalled, the
// event and error). Returns the exit code: 0, or 1 when the database cannot
// be read or a projection is stalled (so a script or probe can test it).
int PrintProjectionStatus(eventstore::ConnectionPool& pool,
                          const std::string& schema);

// `projections rebuild NAME`: rebuilds the projection of that name among
// the models `models_of` makes on a store of `schema` (see
// RebuildProjection), connected as the schema's owner; the new tables are
// granted to `serving_role`. Exits 0 once swapped in, 2 for an unknown
// name, 1 when it failed (the live read model is then untouched).
int RebuildProjectionMain(
    const std::string& owner_dsn, const std::string& schema,
    const std::string& serving_role,
    const std::function<std::vector<eventstore::RebuildableModel>(
        eventstore::EventStore*)>& models_of,
    const std::string& name);

// Serves until SIGTERM or SIGINT (blocked beforehand with
// BlockTerminationSignals), then drains; returns once stopped.
void ServeUntilTerminated(Server& server);

// Sets `pool`'s gauges (connections in use and open, callers waiting) in
// `registry` before each scrape.
void ExportPoolMetrics(eventstore::ConnectionPool& pool,
                       metrics::Registry& registry);

// The serving half of a main(): starts `service` with readiness tied to
// the database at `database_url` (and `options.readiness_check`, if set),
// logs the port, serves until terminated.
// Returns the process exit code.
// A readiness check that fails while the oldest write in progress has run
// longer than `bound`, and for `bound` after a write timed out unless one
// finished in time since: a statement stuck behind a lock, or a database
// that answers reads but not writes, takes the replica out of the Service.
std::function<absl::Status()> WritesGetThrough(
    const eventstore::EventStore& events, absl::Duration bound);

// The feed of `events` (Subscribe), started; none, logged, when the
// database cannot be read.
std::unique_ptr<eventstore::Feed> StartFeedForMain(
    eventstore::EventStore& events, const std::string& database_url,
    int max_subscribers);

int ServeMain(const std::string& program, ServerOptions options,
              std::vector<grpc::Service*> services,
              const std::string& database_url);

}  // namespace shop
