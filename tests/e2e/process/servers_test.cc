// Both servers as real processes: configuration from flags and environment,
// JSON access logs, and a graceful drain on SIGTERM.
#include <signal.h>

#include <chrono>
#include <memory>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "cart/v1/cart.grpc.pb.h"
#include "gmock/gmock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "inventory/v1/inventory.grpc.pb.h"
#include "pqxx/pqxx"
#include "tests/support/child_process.h"
#include "tests/support/http_get.h"
#include "tests/support/server_process.h"
#include "tests/support/test_database.h"

namespace {

using ::shop::testing::ChildProcess;
using ::shop::testing::HttpGet;
using ::shop::testing::kStartTimeout;
using ::shop::testing::MigrateAsOwner;
using ::shop::testing::PortOf;
using ::shop::testing::TestDsn;
using ::shop::testing::TestRoles;
using ::shop::testing::TestSchema;
using ::testing::HasSubstr;

std::shared_ptr<grpc::Channel> Connect(int port) {
  return grpc::CreateChannel(absl::StrCat("127.0.0.1:", port),
                             grpc::InsecureChannelCredentials());
}

// SIGTERM while the server still waits for its database ends the wait
// (and the process) at once, not when the start-up timeout runs out.
TEST(ServersTest, SigtermDuringStartupStopsTheWait) {
  ChildProcess server(
      INVENTORY_SERVER,
      {"--listen=127.0.0.1:0",
       "--database_url=host=127.0.0.1 port=1 dbname=none",
       "--startup_timeout_seconds=60", "--metrics_listen=127.0.0.1:0"});
  ASSERT_TRUE(
      server.WaitForLine("waiting for the database", kStartTimeout).has_value())
      << absl::StrJoin(server.Lines(), "\n");
  const absl::Time signalled = absl::Now();
  server.Signal(SIGTERM);
  EXPECT_EQ(server.WaitForExit(absl::Seconds(10)), 0);
  EXPECT_LT(absl::Now() - signalled, absl::Seconds(5));
}

// A server connected as its schema's owner, or to a schema not yet
// migrated, exits 1 before serving and says what to do: serving never runs
// with a role that could rewrite history, and never migrates.
TEST(ServersTest, ServesOnlyAsTheServingRoleOfAMigratedSchema) {
  TestSchema schema("proc_roles");
  TestRoles roles(schema);
  const std::vector<std::string> flags = {"--listen=127.0.0.1:0",
                                          "--schema=" + schema.name(),
                                          "--metrics_listen=127.0.0.1:0"};
  std::vector<std::string> early = flags;
  early.push_back("--database_url=" + roles.ServingDsn());
  ChildProcess unmigrated(INVENTORY_SERVER, early);
  EXPECT_EQ(unmigrated.WaitForExit(kStartTimeout), 1);
  EXPECT_TRUE(unmigrated.WaitForLine("`migrate`", absl::Seconds(1)))
      << absl::StrJoin(unmigrated.Lines(), "\n");

  MigrateAsOwner(INVENTORY_SERVER, roles);
  std::vector<std::string> as_owner = flags;
  as_owner.push_back("--database_url=" + roles.OwnerDsn());
  ChildProcess owner(INVENTORY_SERVER, as_owner);
  EXPECT_EQ(owner.WaitForExit(kStartTimeout), 1);
  EXPECT_TRUE(owner.WaitForLine("could rewrite its history", absl::Seconds(1)))
      << absl::StrJoin(owner.Lines(), "\n");
  EXPECT_THAT(absl::StrJoin(owner.Lines(), "\n"),
              ::testing::Not(HasSubstr("listening on port")));
}

// A call in flight when SIGTERM arrives completes; new calls are turned
// away; the process exits 0 and logged every call as JSON.
TEST(ServersTest, SigtermDrainsCallsInFlight) {
  TestSchema schema("proc_inv");
  TestRoles roles(schema);
  MigrateAsOwner(INVENTORY_SERVER, roles);
  ChildProcess server(
      INVENTORY_SERVER,
      {"--listen=127.0.0.1:0", "--database_url=" + roles.ServingDsn(),
       "--schema=" + schema.name(), "--shutdown_grace_seconds=20",
       "--metrics_listen=127.0.0.1:0"});
  auto channel = Connect(PortOf(server));
  auto stub = inventory::v1::InventoryService::NewStub(channel);
  {
    inventory::v1::AddProductRequest request;
    request.set_product_id("p");
    request.set_name("P");
    request.set_initial_quantity(5);
    inventory::v1::AddProductResponse response;
    grpc::ClientContext context;
    context.AddMetadata("x-request-id", "req-add-1");
    ASSERT_TRUE(stub->AddProduct(&context, request, &response).ok());
  }

  // Hold the product's row so the next reservation waits inside the server.
  pqxx::connection blocker_connection(TestDsn());
  pqxx::work blocker(blocker_connection);
  blocker.exec(
      absl::StrCat("SELECT 1 FROM ", schema.name(),
                   ".streams WHERE stream_id = 'product-p' FOR UPDATE"));
  grpc::Status in_flight;
  std::thread caller([&] {
    inventory::v1::ReserveStockRequest request;
    request.set_product_id("p");
    request.set_reservation_id("r-1");
    request.set_quantity(1);
    inventory::v1::ReserveStockResponse response;
    grpc::ClientContext context;
    in_flight = stub->ReserveStock(&context, request, &response);
  });
  {
    pqxx::connection watcher(TestDsn());
    const absl::Time deadline = absl::Now() + absl::Seconds(10);
    bool waiting = false;
    while (!waiting && absl::Now() < deadline) {
      pqxx::nontransaction tx(watcher);
      waiting = tx.exec1(
                      "SELECT count(*) FROM pg_stat_activity WHERE "
                      "wait_event_type = 'Lock' AND query LIKE '%streams%'")[0]
                    .as<int>() > 0;
    }
    ASSERT_TRUE(waiting) << "the reservation never reached the database";
  }

  server.Signal(SIGTERM);
  ASSERT_TRUE(server.WaitForLine("draining", absl::Seconds(5)).has_value());
  {
    auto health = grpc::health::v1::Health::NewStub(channel);
    grpc::health::v1::HealthCheckRequest request;
    grpc::health::v1::HealthCheckResponse response;
    grpc::ClientContext context;
    grpc::Status status = health->Check(&context, request, &response);
    EXPECT_FALSE(status.ok() &&
                 response.status() ==
                     grpc::health::v1::HealthCheckResponse::SERVING)
        << "a draining server must not report SERVING";
  }
  blocker.commit();
  caller.join();
  EXPECT_TRUE(in_flight.ok()) << in_flight.error_message();
  EXPECT_EQ(server.WaitForExit(absl::Seconds(20)), 0);

  std::optional<std::string> add_log = server.WaitForLine(
      "\"method\":\"/inventory.v1.InventoryService/AddProduct\"",
      absl::Seconds(1));
  ASSERT_TRUE(add_log.has_value());
  EXPECT_THAT(*add_log, HasSubstr("\"code\":\"OK\""));
  EXPECT_THAT(*add_log, HasSubstr("\"request_id\":\"req-add-1\""));
  EXPECT_THAT(*add_log, HasSubstr("\"latency_ms\":"));
  std::optional<std::string> reserve_log = server.WaitForLine(
      "/inventory.v1.InventoryService/ReserveStock", absl::Seconds(1));
  ASSERT_TRUE(reserve_log.has_value());
  EXPECT_THAT(*reserve_log, HasSubstr("\"code\":\"OK\""));
  // It came without a request id: the one it was given is logged and is
  // the one its event carries.
  pqxx::connection reader(TestDsn());
  pqxx::nontransaction read(reader);
  const std::string event_request_id = read.exec1(absl::StrCat(
      "SELECT metadata->>'requestId' FROM ", schema.name(),
      ".events WHERE type = 'stock.reserved'"))[0]
                                           .as<std::string>();
  EXPECT_FALSE(event_request_id.empty());
  EXPECT_THAT(*reserve_log, HasSubstr(absl::StrCat("\"request_id\":\"",
                                                   event_request_id, "\"")));
}

// Settings come from environment variables; the cart process reaches the
// inventory process; both stop cleanly.
TEST(ServersTest, EnvironmentConfiguresBothServers) {
  TestSchema inventory_schema("proc_inv");
  TestRoles inventory_roles(inventory_schema);
  TestSchema cart_schema("proc_cart");
  TestRoles cart_roles(cart_schema);
  // `migrate` configured by environment too: the owner's URL, the role.
  ChildProcess inventory_migrate(
      INVENTORY_SERVER, {"migrate"},
      {"INVENTORY_MIGRATE_DATABASE_URL=" + inventory_roles.OwnerDsn(),
       "INVENTORY_SERVING_ROLE=" + inventory_roles.serving(),
       "INVENTORY_SCHEMA=" + inventory_schema.name()});
  ASSERT_EQ(inventory_migrate.WaitForExit(kStartTimeout), 0)
      << absl::StrJoin(inventory_migrate.Lines(), "\n");
  ChildProcess cart_migrate(
      CART_SERVER, {"migrate"},
      {"CART_MIGRATE_DATABASE_URL=" + cart_roles.OwnerDsn(),
       "CART_SERVING_ROLE=" + cart_roles.serving(),
       "CART_SCHEMA=" + cart_schema.name()});
  ASSERT_EQ(cart_migrate.WaitForExit(kStartTimeout), 0)
      << absl::StrJoin(cart_migrate.Lines(), "\n");
  ChildProcess inventory_server(
      INVENTORY_SERVER, {},
      {"INVENTORY_LISTEN=127.0.0.1:0",
       "INVENTORY_DATABASE_URL=" + inventory_roles.ServingDsn(),
       "INVENTORY_SCHEMA=" + inventory_schema.name(),
       "INVENTORY_METRICS_LISTEN=127.0.0.1:0"});
  const int inventory_port = PortOf(inventory_server);
  ChildProcess cart_server(
      CART_SERVER, {},
      {"CART_LISTEN=127.0.0.1:0",
       "CART_DATABASE_URL=" + cart_roles.ServingDsn(),
       "CART_SCHEMA=" + cart_schema.name(), "CART_METRICS_LISTEN=127.0.0.1:0",
       absl::StrCat("CART_INVENTORY_ADDRESS=127.0.0.1:", inventory_port)});
  const int cart_port = PortOf(cart_server);
  {
    auto inventory =
        inventory::v1::InventoryService::NewStub(Connect(inventory_port));
    auto cart = cart::v1::CartService::NewStub(Connect(cart_port));

    inventory::v1::AddProductRequest product;
    product.set_product_id("sku-1");
    product.set_name("Sku");
    product.set_initial_quantity(1);
    inventory::v1::AddProductResponse product_response;
    grpc::ClientContext add_context;
    ASSERT_TRUE(
        inventory->AddProduct(&add_context, product, &product_response).ok());

    cart::v1::CreateCartRequest create;
    create.set_cart_id("c-1");
    create.set_customer_id("bob");
    cart::v1::CreateCartResponse created;
    grpc::ClientContext create_context;
    ASSERT_TRUE(cart->CreateCart(&create_context, create, &created).ok());
    cart::v1::AddItemRequest add;
    add.set_cart_id("c-1");
    add.set_product_id("sku-1");
    add.set_quantity(1);
    cart::v1::AddItemResponse added;
    grpc::ClientContext item_context;
    grpc::Status status = cart->AddItem(&item_context, add, &added);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(added.item().quantity(), 1);
  }

  // Each admin port counts the calls its own server answered.
  const std::string inventory_metrics =
      HttpGet(PortOf(inventory_server, "serving metrics on port"), "/metrics");
  EXPECT_THAT(inventory_metrics, HasSubstr("HTTP/1.1 200 OK"));
  EXPECT_THAT(inventory_metrics,
              HasSubstr("grpc_server_handled_total{grpc_service=\"inventory.v1."
                        "InventoryService\",grpc_method=\"ReserveStock\","
                        "grpc_code=\"OK\"} 1\n"));
  const std::string cart_metrics =
      HttpGet(PortOf(cart_server, "serving metrics on port"), "/metrics");
  EXPECT_THAT(cart_metrics,
              HasSubstr("grpc_server_handled_total{grpc_service=\"cart.v1."
                        "CartService\",grpc_method=\"AddItem\","
                        "grpc_code=\"OK\"} 1\n"));
  EXPECT_THAT(cart_metrics, HasSubstr("shop_db_pool_connections{"));

  // Idle client connections would hold a graceful shutdown until gRPC's
  // client notices the GOAWAY (its backup poller runs every 5 s).
  cart_server.Signal(SIGTERM);
  inventory_server.Signal(SIGTERM);
  EXPECT_EQ(cart_server.WaitForExit(absl::Seconds(20)), 0);
  EXPECT_EQ(inventory_server.WaitForExit(absl::Seconds(20)), 0);
}

// A request that does not parse (invalid UTF-8 in a string field) is
// refused and writes nothing, and the server's log stays JSON: what
// protobuf and gRPC report goes through the same JSON lines.
TEST(ServersTest, UnparsableRequestsKeepTheLogJson) {
  TestSchema schema("proc_utf8");
  TestRoles roles(schema);
  MigrateAsOwner(INVENTORY_SERVER, roles);
  ChildProcess server(
      INVENTORY_SERVER,
      {"--listen=127.0.0.1:0", "--database_url=" + roles.ServingDsn(),
       "--schema=" + schema.name(), "--metrics_listen=127.0.0.1:0"});
  {
    auto stub =
        inventory::v1::InventoryService::NewStub(Connect(PortOf(server)));
    for (int i = 0; i < 2; ++i) {
      inventory::v1::AddProductRequest request;
      request.set_product_id("bad-\xff\xfe");
      request.set_name("N");
      inventory::v1::AddProductResponse response;
      grpc::ClientContext context;
      grpc::Status status = stub->AddProduct(&context, request, &response);
      EXPECT_FALSE(status.ok());
      inventory::v1::GetStockRequest get;
      get.set_product_id("bad-\xff\xfe");
      inventory::v1::GetStockResponse stock;
      grpc::ClientContext get_context;
      EXPECT_FALSE(stub->GetStock(&get_context, get, &stock).ok());
    }
  }
  server.Signal(SIGTERM);
  EXPECT_EQ(server.WaitForExit(absl::Seconds(20)), 0);
  for (const std::string& line : server.Lines()) {
    EXPECT_TRUE(absl::StartsWith(line, "{\"time\":")) << line;
  }
  pqxx::connection connection(TestDsn());
  pqxx::work tx(connection);
  EXPECT_EQ(tx.exec1(absl::StrCat("SELECT count(*) FROM ", schema.name(),
                                  ".events WHERE type = 'product.added'"))[0]
                .as<int>(),
            0);
}

// The health service's answer for `service`, polled until it is `want`
// or `timeout` passes; whether it got there.
bool AwaitHealth(grpc::health::v1::Health::Stub& health,
                 const std::string& service,
                 grpc::health::v1::HealthCheckResponse::ServingStatus want,
                 absl::Duration timeout) {
  const absl::Time give_up = absl::Now() + timeout;
  while (absl::Now() < give_up) {
    grpc::health::v1::HealthCheckRequest request;
    request.set_service(service);
    grpc::health::v1::HealthCheckResponse response;
    grpc::ClientContext context;
    if (health.Check(&context, request, &response).ok() &&
        response.status() == want) {
      return true;
    }
    absl::SleepFor(absl::Milliseconds(100));
  }
  return false;
}

// A write stuck behind an outside lock takes the replica out of service
// once it has waited --write_stall_seconds, although the database still
// answers; readiness comes back when the write gets through.
TEST(ServersTest, ReadinessFollowsWritesNotJustTheDatabase) {
  using Health = grpc::health::v1::HealthCheckResponse;
  TestSchema schema("proc_stall");
  TestRoles roles(schema);
  MigrateAsOwner(INVENTORY_SERVER, roles);
  ChildProcess server(
      INVENTORY_SERVER,
      {"--listen=127.0.0.1:0", "--database_url=" + roles.ServingDsn(),
       "--schema=" + schema.name(), "--access_log=false",
       "--metrics_listen=127.0.0.1:0", "--write_stall_seconds=1"});
  auto channel = Connect(PortOf(server));
  auto stub = inventory::v1::InventoryService::NewStub(channel);
  auto health = grpc::health::v1::Health::NewStub(channel);
  const std::string service = "inventory.v1.InventoryService";
  {
    inventory::v1::AddProductRequest request;
    request.set_product_id("p0");
    request.set_name("P");
    request.set_initial_quantity(5);
    inventory::v1::AddProductResponse response;
    grpc::ClientContext context;
    ASSERT_TRUE(stub->AddProduct(&context, request, &response).ok());
  }
  ASSERT_TRUE(AwaitHealth(*health, service, Health::SERVING, absl::Seconds(5)));

  pqxx::connection outside(TestDsn());
  auto lock = std::make_unique<pqxx::work>(outside);
  lock->exec(
      absl::StrCat("SELECT 1 FROM ", schema.name(),
                   ".streams WHERE stream_id = 'product-p0' FOR UPDATE"));
  grpc::Status reserved;
  std::thread reserver([&] {
    inventory::v1::ReserveStockRequest request;
    request.set_product_id("p0");
    request.set_reservation_id("r-1");
    request.set_quantity(1);
    inventory::v1::ReserveStockResponse response;
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(30));
    reserved = stub->ReserveStock(&context, request, &response);
  });
  EXPECT_TRUE(
      AwaitHealth(*health, service, Health::NOT_SERVING, absl::Seconds(10)));
  // Process health stays SERVING: nothing restarts the pod for it.
  EXPECT_TRUE(AwaitHealth(*health, "", Health::SERVING, absl::Seconds(1)));
  lock->abort();
  reserver.join();
  EXPECT_TRUE(reserved.ok()) << reserved.error_message();
  EXPECT_TRUE(
      AwaitHealth(*health, service, Health::SERVING, absl::Seconds(10)));
}

// A flag outside its range stops the server at once with exit code 2 and
// one JSON line naming the flag, its value and what is allowed.
TEST(ServersTest, BadFlagsExitWithCode2) {
  ChildProcess inventory_server(
      INVENTORY_SERVER,
      {"--reservation_ttl_seconds=-5", "--database_url=host=127.0.0.1 port=1"});
  EXPECT_EQ(inventory_server.WaitForExit(absl::Seconds(10)), 2);
  EXPECT_THAT(absl::StrJoin(inventory_server.Lines(), "\n"),
              HasSubstr("{\"time\""));
  EXPECT_THAT(absl::StrJoin(inventory_server.Lines(), "\n"),
              HasSubstr("--reservation_ttl_seconds=-5: must be 1 to 86400"));
  ChildProcess cart_server(CART_SERVER, {"--inventory_deadline_ms=0"},
                           {"CART_POOL_SIZE=0"});
  EXPECT_EQ(cart_server.WaitForExit(absl::Seconds(10)), 2);
  const std::string cart_text = absl::StrJoin(cart_server.Lines(), "\n");
  EXPECT_THAT(cart_text, HasSubstr("--pool_size=0: must be 1 to 1000"));
}

// --help lists every flag with the environment variable that sets it.
TEST(ServersTest, HelpListsEnvironmentVariables) {
  ChildProcess inventory_help(INVENTORY_SERVER, {"--help"});
  inventory_help.WaitForExit(absl::Seconds(10));
  const std::string inventory_text =
      absl::StrJoin(inventory_help.Lines(), "\n");
  for (const char* variable :
       {"INVENTORY_LISTEN", "INVENTORY_DATABASE_URL", "INVENTORY_POOL_SIZE",
        "INVENTORY_RESERVATION_TTL_SECONDS",
        "INVENTORY_SHUTDOWN_GRACE_SECONDS"}) {
    EXPECT_THAT(inventory_text, HasSubstr(variable));
  }
  ChildProcess cart_help(CART_SERVER, {"--help"});
  cart_help.WaitForExit(absl::Seconds(10));
  EXPECT_THAT(absl::StrJoin(cart_help.Lines(), "\n"),
              HasSubstr("CART_INVENTORY_ADDRESS"));
}

}  // namespace
