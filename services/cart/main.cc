// cart-server: serves cart.v1.CartService, reserving stock through
// inventory.v1.InventoryService. `cart-server migrate` applies the schema
// migrations as the schema's owner and exits; `cart-server projections
// status` prints the read models' state and exits; `projections rebuild
// NAME` rebuilds one, as the owner, and exits.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "common/eventstore/connection_pool.h"
#include "common/rpc/tls.h"
#include "common/server/flags.h"
#include "common/server/periodic_task.h"
#include "common/server/server.h"
#include "common/server/server_flags.h"
#include "common/server/startup.h"
#include "services/cart/api/cart_service.h"
#include "services/cart/api/console_api.h"
#include "services/cart/api/order_service.h"
#include "services/cart/app/carts.h"
#include "services/cart/inventory_client/grpc_inventory_client.h"
#include "services/cart/inventory_client/inventory_events.h"
#include "services/cart/store/cart_store.h"
#include "services/cart/store/customer_carts.h"
#include "services/cart/store/order_store.h"
#include "services/cart/store/sales_by_day.h"

ABSL_FLAG(std::string, metrics_listen, "127.0.0.1:9465",
          "admin HTTP address serving GET /metrics, the probes and the "
          "console; empty: none");
ABSL_FLAG(std::string, listen, "127.0.0.1:50052", "gRPC listen address");
ABSL_FLAG(std::string, database_url, "host=127.0.0.1 dbname=shop user=cart_app",
          "libpq connection string or URI of the serving role (password: "
          "PGPASSWORD)");
ABSL_FLAG(std::string, migrate_database_url,
          "host=127.0.0.1 dbname=shop user=cart",
          "`migrate` and `projections rebuild`: connection of the schema's "
          "owner (password: "
          "PGPASSWORD)");
ABSL_FLAG(std::string, serving_role, "cart_app",
          "`migrate` and `projections rebuild`: the role --database_url serves "
          "as, granted what "
          "serving needs");
ABSL_FLAG(std::string, schema, "cart", "PostgreSQL schema of this service");
ABSL_FLAG(std::string, inventory_address, "127.0.0.1:50051",
          "host:port of the inventory service");
ABSL_FLAG(std::string, inventory_tls_ca_file, "",
          "PEM CA of inventory's certificate: TLS to inventory; empty with "
          "no certificate: plaintext");
ABSL_FLAG(std::string, inventory_tls_cert_file, "",
          "PEM certificate the cart presents to inventory (mutual TLS)");
ABSL_FLAG(std::string, inventory_tls_key_file, "",
          "PEM private key of --inventory_tls_cert_file");
ABSL_FLAG(int, inventory_deadline_ms, 2000,
          "deadline of each call to the inventory service");
ABSL_FLAG(int64_t, reservation_ttl_seconds, 900,
          "how long inventory holds the units of an open cart");

int main(int argc, char** argv) {
  shop::BlockTerminationSignals();
  shop::RouteLibraryLogsToJson();
  std::vector<std::string> args = shop::ParseFlagsWithEnvironment(
      argc, argv, "CART_",
      "cart-server [migrate | projections status | projections rebuild NAME]: "
      "the cart gRPC service");
  const shop::ServerCommand command =
      shop::ParseServerCommand(args, "cart-server");
  if (command == shop::ServerCommand::kUsage) return 2;
  const shop::ServerFlags common = shop::ReadServerFlags();
  const shop::TlsFiles inventory_tls = {
      .cert_file = absl::GetFlag(FLAGS_inventory_tls_cert_file),
      .key_file = absl::GetFlag(FLAGS_inventory_tls_key_file),
      .ca_file = absl::GetFlag(FLAGS_inventory_tls_ca_file)};
  std::vector<shop::FlagRule> rules = {
      shop::InRange("reservation_ttl_seconds",
                    absl::GetFlag(FLAGS_reservation_ttl_seconds), 1, 86'400),
      shop::InRange("inventory_deadline_ms",
                    absl::GetFlag(FLAGS_inventory_deadline_ms), 1, 600'000),
      {"schema", eventstore::IsValidSchemaName(absl::GetFlag(FLAGS_schema)),
       "a lower-case SQL identifier"},
      {"serving_role",
       eventstore::IsValidSchemaName(absl::GetFlag(FLAGS_serving_role)),
       "a lower-case SQL role name"},
      {"migrate_database_url",
       !absl::GetFlag(FLAGS_migrate_database_url).empty(),
       "a libpq connection string or URI"},
      {"inventory_address", !absl::GetFlag(FLAGS_inventory_address).empty(),
       "host:port"}};
  for (shop::FlagRule& rule :
       shop::TlsFlagRules(inventory_tls,
                          {.cert_file = "inventory_tls_cert_file",
                          .key_file = "inventory_tls_key_file",
                          .ca_file = "inventory_tls_ca_file"},
                          /*server=*/false)) {
    rules.push_back(std::move(rule));
  }
  shop::EnforceFlagRules(rules);

  if (command == shop::ServerCommand::kMigrate) {
    // The owner's connection: the serving role may not change the schema.
    eventstore::ConnectionPool owner_pool(
        {.dsn = absl::GetFlag(FLAGS_migrate_database_url), .size = 1});
    return shop::MigrateMain(owner_pool, absl::GetFlag(FLAGS_schema),
                             absl::GetFlag(FLAGS_serving_role),
                             cart::EventOrderStore::Migrations(),
                             common.startup_timeout);
  }
  if (command == shop::ServerCommand::kProjectionRebuild) {
    // As the owner, who may replace the tables.
    return shop::RebuildProjectionMain(
        absl::GetFlag(FLAGS_migrate_database_url), absl::GetFlag(FLAGS_schema),
        absl::GetFlag(FLAGS_serving_role),
        [](eventstore::EventStore* events) {
          return std::vector{cart::CustomerCarts::Rebuildable(events),
                             cart::SalesByDay::Rebuildable(events)};
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
          cart::EventOrderStore::Migrations(), common.startup_timeout)) {
    return *exit_code;
  }

  eventstore::EventStore events(&pool, absl::GetFlag(FLAGS_schema),
                                common.store);
  // Before the use cases, so that it outlives their last appends.
  std::unique_ptr<eventstore::Feed> feed = shop::StartFeedForMain(
      events, absl::GetFlag(FLAGS_database_url), common.max_subscribers);
  if (feed == nullptr) return 1;
  cart::EventCartStore store(&events);
  std::shared_ptr<grpc::Channel> inventory_channel =
      grpc::CreateChannel(absl::GetFlag(FLAGS_inventory_address),
                          shop::ChannelCredentialsFor(inventory_tls));
  const absl::Duration inventory_deadline =
      absl::Milliseconds(absl::GetFlag(FLAGS_inventory_deadline_ms));
  cart::GrpcInventoryClient inventory(inventory_channel, inventory_deadline);
  cart::InventoryEvents inventory_events(inventory_channel, inventory_deadline);
  // Workers wait for the database: one per pooled connection.
  cart::Carts carts(
      &store, &inventory,
      {.reservation_ttl_seconds = absl::GetFlag(FLAGS_reservation_ttl_seconds),
       .workers = common.pool_size});
  cart::CartHistory history(&events);
  cart::CartReports reports(&events, feed.get(),
                            {.dsn = absl::GetFlag(FLAGS_database_url)});
  reports.Start();
  cart::CartServiceImpl service(&carts, &history, &reports, feed.get(),
                                common.identity);
  cart::EventOrderStore order_store(&events);
  cart::Orders orders(&order_store, &inventory);
  cart::OrderServiceImpl order_service(&orders, common.identity);
  shop::ExportPoolMetrics(pool, shop::metrics::Default());
  return shop::ServeMain(
      "cart-server",
      {.listen_address = absl::GetFlag(FLAGS_listen),
       .credentials = shop::ServerCredentialsFor(common.tls),
       .health_service_name = "cart.v1.CartService",
       .readiness_check = shop::WritesGetThrough(events, common.write_stall),
       .shutdown_grace = common.shutdown_grace,
       .access_log = common.access_log,
       .metrics_listen = absl::GetFlag(FLAGS_metrics_listen),
       .console_routes = shop::console::ConsoleRoutes(
           {.service = "cart", .peers = {"inventory"}},
           cart::ConsoleApi(&service, &order_service, feed.get(),
                            &inventory_events)),
       .console_listen = common.console_listen,
       .on_drain = [&feed] { feed->Close(); }},
      {&service, &order_service}, absl::GetFlag(FLAGS_database_url));
}
