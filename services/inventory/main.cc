// inventory-server: serves inventory.v1.InventoryService. `inventory-server
// migrate` applies the schema migrations as the schema's owner and exits;
// `inventory-server projections status` prints the read models' state and
// exits; `projections rebuild NAME` rebuilds one, as the owner, and exits.
#include <cstdint>
#include <string>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "common/eventstore/connection_pool.h"
#include "common/logging/log.h"
#include "common/server/flags.h"
#include "common/server/periodic_task.h"
#include "common/server/server.h"
#include "common/server/server_flags.h"
#include "common/server/startup.h"
#include "services/inventory/api/console_api.h"
#include "services/inventory/api/inventory_service.h"
#include "services/inventory/app/inventory.h"
#include "services/inventory/app/stock_history.h"
#include "services/inventory/store/product_history.h"
#include "services/inventory/store/product_store.h"
#include "services/inventory/store/stock_levels.h"
#include "services/inventory/store/warehouse_store.h"

ABSL_FLAG(std::string, metrics_listen, "127.0.0.1:9464",
          "admin HTTP address serving GET /metrics, the probes and the "
          "console; empty: none");
ABSL_FLAG(std::string, listen, "127.0.0.1:50051", "gRPC listen address");
ABSL_FLAG(std::string, database_url,
          "host=127.0.0.1 dbname=shop user=inventory_app",
          "libpq connection string or URI of the serving role (password: "
          "PGPASSWORD)");
ABSL_FLAG(std::string, migrate_database_url,
          "host=127.0.0.1 dbname=shop user=inventory",
          "`migrate` and `projections rebuild`: connection of the schema's "
          "owner (password: "
          "PGPASSWORD)");
ABSL_FLAG(std::string, serving_role, "inventory_app",
          "`migrate` and `projections rebuild`: the role --database_url serves "
          "as, granted what "
          "serving needs");
ABSL_FLAG(std::string, schema, "inventory",
          "PostgreSQL schema of this service");
ABSL_FLAG(int64_t, reservation_ttl_seconds, 900,
          "reservation lifetime when the caller gives none");
ABSL_FLAG(int, expiry_interval_ms, 1000,
          "how often overdue reservations are expired");

int main(int argc, char** argv) {
  shop::BlockTerminationSignals();
  shop::RouteLibraryLogsToJson();
  std::vector<std::string> args =
      shop::ParseFlagsWithEnvironment(argc, argv, "INVENTORY_",
                                      "inventory-server [migrate | projections "
                                      "status | projections rebuild NAME]: "
                                      "the inventory gRPC service");
  const shop::ServerCommand command =
      shop::ParseServerCommand(args, "inventory-server");
  if (command == shop::ServerCommand::kUsage) return 2;
  const shop::ServerFlags common = shop::ReadServerFlags();
  shop::EnforceFlagRules(
      {shop::InRange("reservation_ttl_seconds",
                     absl::GetFlag(FLAGS_reservation_ttl_seconds), 1, 86'400),
       shop::InRange("expiry_interval_ms",
                     absl::GetFlag(FLAGS_expiry_interval_ms), 10, 3'600'000),
       {"schema", eventstore::IsValidSchemaName(absl::GetFlag(FLAGS_schema)),
        "a lower-case SQL identifier"},
       {"serving_role",
        eventstore::IsValidSchemaName(absl::GetFlag(FLAGS_serving_role)),
        "a lower-case SQL role name"},
       {"migrate_database_url",
        !absl::GetFlag(FLAGS_migrate_database_url).empty(),
        "a libpq connection string or URI"}});

  if (command == shop::ServerCommand::kMigrate) {
    // The owner's connection: the serving role may not change the schema.
    eventstore::ConnectionPool owner_pool(
        {.dsn = absl::GetFlag(FLAGS_migrate_database_url), .size = 1});
    return shop::MigrateMain(owner_pool, absl::GetFlag(FLAGS_schema),
                             absl::GetFlag(FLAGS_serving_role),
                             inventory::ProductStore::Migrations(),
                             common.startup_timeout);
  }
  if (command == shop::ServerCommand::kProjectionRebuild) {
    // As the owner, who may replace the tables.
    return shop::RebuildProjectionMain(
        absl::GetFlag(FLAGS_migrate_database_url), absl::GetFlag(FLAGS_schema),
        absl::GetFlag(FLAGS_serving_role),
        [](eventstore::EventStore* events) {
          return std::vector{inventory::StockLevels::Rebuildable(events)};
        },
        args[3]);
  }
  eventstore::ConnectionPool pool(
      {.dsn = absl::GetFlag(FLAGS_database_url), .size = common.pool_size});
  if (command == shop::ServerCommand::kProjectionStatus) {
    return shop::PrintProjectionStatus(pool, absl::GetFlag(FLAGS_schema));
  }
  if (std::optional<int> exit_code = shop::CheckSchemaForMain(
          pool, absl::GetFlag(FLAGS_schema),
          inventory::ProductStore::Migrations(), common.startup_timeout)) {
    return *exit_code;
  }

  eventstore::EventStore events(&pool, absl::GetFlag(FLAGS_schema),
                                common.store);
  // Before the use cases, so that it outlives their last appends.
  std::unique_ptr<eventstore::Feed> feed = shop::StartFeedForMain(
      events, absl::GetFlag(FLAGS_database_url), common.max_subscribers);
  if (feed == nullptr) return 1;
  inventory::ProductStore store(&events);
  inventory::WarehouseStore warehouses(&events);
  // Workers wait for the database: one per pooled connection.
  inventory::Inventory inventory(
      &store, &warehouses,
      {.default_ttl =
           absl::Seconds(absl::GetFlag(FLAGS_reservation_ttl_seconds)),
       .workers = common.pool_size});
  inventory::ProductHistory product_history(&events);
  inventory::StockHistory stock_history(&product_history, &events);
  inventory::StockLevels stock_levels(&events);
  inventory::StockReports reports(&stock_levels, &events, feed.get(),
                                  {.dsn = absl::GetFlag(FLAGS_database_url)});
  reports.Start();
  inventory::InventoryServiceImpl service(&inventory, &stock_history, &reports,
                                          feed.get(), common.identity);
  shop::PeriodicTask expiry(
      absl::Milliseconds(absl::GetFlag(FLAGS_expiry_interval_ms)), [&] {
        absl::StatusOr<int> expired = inventory.ExpireDue(100);
        if (!expired.ok()) {
          shop::LogJson("warn", absl::StrCat("expiry sweep: ",
                                             expired.status().ToString()));
        }
      });
  shop::ExportPoolMetrics(pool, shop::metrics::Default());
  inventory.ExportReservationGauges();
  return shop::ServeMain(
      "inventory-server",
      {.listen_address = absl::GetFlag(FLAGS_listen),
       .credentials = shop::ServerCredentialsFor(common.tls),
       .health_service_name = "inventory.v1.InventoryService",
       .readiness_check = shop::WritesGetThrough(events, common.write_stall),
       .shutdown_grace = common.shutdown_grace,
       .access_log = common.access_log,
       .metrics_listen = absl::GetFlag(FLAGS_metrics_listen),
       .console_routes = shop::console::ConsoleRoutes(
           {.service = "inventory"},
           inventory::ConsoleApi(&service, &stock_history, feed.get())),
       .console_listen = common.console_listen,
       .on_drain = [&feed] { feed->Close(); }},
      {&service}, absl::GetFlag(FLAGS_database_url));
}
