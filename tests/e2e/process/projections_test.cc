// Projections across real server processes: the lead moves to a replica
// when the leader is killed mid-load, the rows still equal the domain's
// figures, and `projections status` shows the state.
#include <signal.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "inventory/v1/inventory.grpc.pb.h"
#include "tests/support/child_process.h"
#include "tests/support/test_database.h"

namespace {

using ::shop::testing::ChildProcess;
using ::shop::testing::TestRoles;
using ::shop::testing::TestSchema;
using ::testing::HasSubstr;
namespace v1 = ::inventory::v1;

constexpr absl::Duration kStartTimeout = absl::Seconds(30);
constexpr char kLeading[] = "projection stock_levels: leading";

// An inventory server on `roles`' schema, as its serving role.
std::unique_ptr<ChildProcess> StartServer(const TestRoles& roles,
                                          const std::string& schema) {
  return std::make_unique<ChildProcess>(
      INVENTORY_SERVER,
      std::vector<std::string>{
          "--listen=127.0.0.1:0", "--database_url=" + roles.ServingDsn(),
          "--schema=" + schema, "--metrics_listen=127.0.0.1:0",
          "--access_log=false"});
}

std::unique_ptr<v1::InventoryService::Stub> Connect(ChildProcess& server) {
  std::optional<std::string> line =
      server.WaitForLine("listening on port", kStartTimeout);
  EXPECT_TRUE(line.has_value()) << absl::StrJoin(server.Lines(), "\n");
  int port = 0;
  if (line.has_value()) {
    const size_t at = line->find("port ") + 5;
    EXPECT_TRUE(
        absl::SimpleAtoi(line->substr(at, line->find('"', at) - at), &port));
  }
  return v1::InventoryService::NewStub(grpc::CreateChannel(
      absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials()));
}

bool Leads(ChildProcess& server) {
  for (const std::string& line : server.Lines()) {
    if (absl::StrContains(line, kLeading)) return true;
  }
  return false;
}

template <typename Request, typename Response, typename Method>
grpc::Status Call(v1::InventoryService::Stub& stub, Method method,
                  const Request& request, Response* response) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(10));
  return (stub.*method)(&context, request, response);
}

// The reserved figure of product p at main, from ListStock ("" if absent).
std::string Listed(v1::InventoryService::Stub& stub) {
  v1::ListStockRequest request;
  v1::ListStockResponse page;
  if (!Call(stub, &v1::InventoryService::Stub::ListStock, request, &page)
           .ok() ||
      page.levels_size() != 1) {
    return "";
  }
  return absl::StrCat(page.levels(0).version(), " ",
                      page.levels(0).stock().reserved());
}

TEST(ProjectionsProcessTest, TheLeadMovesWhenTheLeaderIsKilledMidLoad) {
  TestSchema schema("proc_projection");
  TestRoles roles(schema);
  {
    ChildProcess migrate(INVENTORY_SERVER, roles.MigrateArgs());
    ASSERT_EQ(migrate.WaitForExit(kStartTimeout), 0)
        << absl::StrJoin(migrate.Lines(), "\n");
  }
  std::unique_ptr<ChildProcess> first = StartServer(roles, schema.name());
  auto first_stub = Connect(*first);
  ASSERT_TRUE(first->WaitForLine(kLeading, kStartTimeout).has_value());
  std::unique_ptr<ChildProcess> second = StartServer(roles, schema.name());
  auto second_stub = Connect(*second);
  {
    v1::AddProductRequest request;
    request.set_product_id("p");
    request.set_name("P");
    request.set_initial_quantity(1'000'000);
    v1::AddProductResponse response;
    ASSERT_TRUE(Call(*second_stub, &v1::InventoryService::Stub::AddProduct,
                     request, &response)
                    .ok());
  }

  // Reservations through the follower while the leader applies them.
  std::atomic<bool> stop{false};
  std::atomic<int> reserved{0};
  std::vector<std::thread> callers;
  for (int c = 0; c < 4; ++c) {
    callers.emplace_back([&, c] {
      for (int i = 0; !stop; ++i) {
        v1::ReserveStockRequest request;
        request.set_product_id("p");
        request.set_reservation_id(absl::StrCat("r-", c, "-", i));
        request.set_quantity(1);
        v1::ReserveStockResponse response;
        if (Call(*second_stub, &v1::InventoryService::Stub::ReserveStock,
                 request, &response)
                .ok()) {
          ++reserved;
        }
      }
    });
  }
  absl::SleepFor(absl::Milliseconds(700));
  ASSERT_FALSE(Leads(*second));
  first->Signal(SIGKILL);
  ASSERT_TRUE(second->WaitForLine(kLeading, absl::Seconds(20)).has_value())
      << absl::StrJoin(second->Lines(), "\n");
  absl::SleepFor(absl::Milliseconds(300));
  stop = true;
  for (std::thread& caller : callers) caller.join();
  ASSERT_GT(reserved.load(), 100);

  // The rows catch up with the product's own figures: nothing applied twice
  // (a repeat would stall the projection), nothing skipped.
  v1::GetStockRequest get;
  get.set_product_id("p");
  v1::GetStockResponse stock;
  ASSERT_TRUE(
      Call(*second_stub, &v1::InventoryService::Stub::GetStock, get, &stock)
          .ok());
  EXPECT_EQ(stock.reserved(), reserved.load());
  const std::string expected =
      absl::StrCat(stock.version(), " ", stock.reserved());
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (Listed(*second_stub) != expected && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(50));
  }
  EXPECT_EQ(Listed(*second_stub), expected);

  ChildProcess status(INVENTORY_SERVER, {"projections", "status",
                                         "--database_url=" + roles.ServingDsn(),
                                         "--schema=" + schema.name()});
  EXPECT_EQ(status.WaitForExit(absl::Seconds(20)), 0);
  const std::string printed = absl::StrJoin(status.Lines(), "\n");
  EXPECT_THAT(printed, HasSubstr("stock_levels"));
  EXPECT_THAT(printed, HasSubstr("running"));
  EXPECT_THAT(printed, ::testing::ContainsRegex("running +0 "));
}

// `projections rebuild stock_levels` while reservations keep coming: it
// exits 0, the rows it swapped in (a corrupted one among them) equal the
// product's own figures once the load stops, and the server, as the
// serving role, reads them. An unknown name exits 2.
TEST(ProjectionsProcessTest, RebuildUnderLoadSwapsInRowsEqualToTheDomain) {
  TestSchema schema("proc_rebuild");
  TestRoles roles(schema);
  {
    ChildProcess migrate(INVENTORY_SERVER, roles.MigrateArgs());
    ASSERT_EQ(migrate.WaitForExit(kStartTimeout), 0)
        << absl::StrJoin(migrate.Lines(), "\n");
  }
  std::unique_ptr<ChildProcess> server = StartServer(roles, schema.name());
  auto stub = Connect(*server);
  {
    v1::AddProductRequest request;
    request.set_product_id("p");
    request.set_name("P");
    request.set_initial_quantity(1'000'000);
    v1::AddProductResponse response;
    ASSERT_TRUE(
        Call(*stub, &v1::InventoryService::Stub::AddProduct, request, &response)
            .ok());
  }
  std::atomic<bool> stop{false};
  std::vector<std::thread> callers;
  for (int c = 0; c < 4; ++c) {
    callers.emplace_back([&, c] {
      for (int i = 0; !stop; ++i) {
        v1::ReserveStockRequest request;
        request.set_product_id("p");
        request.set_reservation_id(absl::StrCat("r-", c, "-", i));
        request.set_quantity(1);
        v1::ReserveStockResponse response;
        Call(*stub, &v1::InventoryService::Stub::ReserveStock, request,
             &response);
      }
    });
  }
  absl::SleepFor(absl::Milliseconds(300));
  shop::testing::ExecAsAdmin(absl::StrCat("UPDATE ", schema.name(),
                                          ".stock_levels SET reserved = -1"));

  std::vector<std::string> rebuild = roles.MigrateArgs();
  rebuild[0] = "stock_levels";
  rebuild.insert(rebuild.begin(), {"projections", "rebuild"});
  ChildProcess rebuilt(INVENTORY_SERVER, rebuild);
  EXPECT_EQ(rebuilt.WaitForExit(absl::Seconds(60)), 0)
      << absl::StrJoin(rebuilt.Lines(), "\n");
  absl::SleepFor(absl::Milliseconds(300));
  stop = true;
  for (std::thread& caller : callers) caller.join();

  v1::GetStockRequest get;
  get.set_product_id("p");
  v1::GetStockResponse stock;
  ASSERT_TRUE(
      Call(*stub, &v1::InventoryService::Stub::GetStock, get, &stock).ok());
  EXPECT_GT(stock.reserved(), 0);
  const std::string expected =
      absl::StrCat(stock.version(), " ", stock.reserved());
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (Listed(*stub) != expected && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(50));
  }
  EXPECT_EQ(Listed(*stub), expected);

  rebuild[2] = "no_such_projection";
  ChildProcess unknown(INVENTORY_SERVER, rebuild);
  EXPECT_EQ(unknown.WaitForExit(absl::Seconds(20)), 2);
  EXPECT_THAT(absl::StrJoin(unknown.Lines(), "\n"),
              HasSubstr("one of stock_levels"));
}

}  // namespace
