// Projections across real server processes: the lead moves to a replica
// when the leader is killed mid-load, the rows still equal the domain's
// figures, and `projections status` shows the state.
#include <signal.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "inventory/v1/inventory.grpc.pb.h"
#include "tests/support/child_process.h"
#include "tests/support/server_process.h"
#include "tests/support/test_database.h"

namespace {

using ::shop::testing::ChildProcess;
using ::shop::testing::kStartTimeout;
using ::shop::testing::MigrateAsOwner;
using ::shop::testing::PortOf;
using ::shop::testing::TestRoles;
using ::shop::testing::TestSchema;
using ::testing::HasSubstr;
namespace v1 = ::inventory::v1;

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
  return v1::InventoryService::NewStub(
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", PortOf(server)),
                          grpc::InsecureChannelCredentials()));
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

grpc::Status AddProduct(v1::InventoryService::Stub& stub,
                        const std::string& product, int64_t quantity) {
  v1::AddProductRequest request;
  request.set_product_id(product);
  request.set_name(product);
  request.set_initial_quantity(quantity);
  v1::AddProductResponse response;
  return Call(stub, &v1::InventoryService::Stub::AddProduct, request,
              &response);
}

// Four callers reserving one unit of p after another until Stop().
class ReservationLoad final {
 public:
  explicit ReservationLoad(v1::InventoryService::Stub& stub) {
    for (int c = 0; c < 4; ++c) {
      callers_.emplace_back([this, &stub, c] {
        for (int i = 0; !stop_; ++i) {
          v1::ReserveStockRequest request;
          request.set_product_id("p");
          request.set_reservation_id(absl::StrCat("r-", c, "-", i));
          request.set_quantity(1);
          v1::ReserveStockResponse response;
          if (Call(stub, &v1::InventoryService::Stub::ReserveStock, request,
                   &response)
                  .ok()) {
            ++reserved_;
          }
        }
      });
    }
  }
  ~ReservationLoad() { Stop(); }

  // Stops the callers and says how many reservations succeeded.
  int Stop() {
    stop_ = true;
    for (std::thread& caller : callers_) {
      if (caller.joinable()) caller.join();
    }
    return reserved_;
  }

 private:
  std::atomic<bool> stop_{false};
  std::atomic<int> reserved_{0};
  std::vector<std::thread> callers_;
};

// The reserved figure of `product` at main from ListStock (-2 if absent).
int64_t ListedReserved(v1::InventoryService::Stub& stub,
                       const std::string& product) {
  v1::ListStockRequest request;
  v1::ListStockResponse page;
  if (!Call(stub, &v1::InventoryService::Stub::ListStock, request, &page)
           .ok()) {
    return -2;
  }
  for (const auto& level : page.levels()) {
    if (level.product_id() == product) return level.stock().reserved();
  }
  return -2;
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
  MigrateAsOwner(INVENTORY_SERVER, roles);
  std::unique_ptr<ChildProcess> first = StartServer(roles, schema.name());
  auto first_stub = Connect(*first);
  ASSERT_TRUE(first->WaitForLine(kLeading, kStartTimeout).has_value());
  std::unique_ptr<ChildProcess> second = StartServer(roles, schema.name());
  auto second_stub = Connect(*second);
  ASSERT_TRUE(AddProduct(*second_stub, "p", 1'000'000).ok());

  // Reservations through the follower while the leader applies them.
  ReservationLoad load(*second_stub);
  absl::SleepFor(absl::Milliseconds(700));
  ASSERT_FALSE(Leads(*second));
  first->Signal(SIGKILL);
  ASSERT_TRUE(second->WaitForLine(kLeading, absl::Seconds(20)).has_value())
      << absl::StrJoin(second->Lines(), "\n");
  absl::SleepFor(absl::Milliseconds(300));
  const int reserved = load.Stop();
  ASSERT_GT(reserved, 100);

  // The rows catch up with the product's own figures: nothing applied twice
  // (a repeat would stall the projection), nothing skipped.
  v1::GetStockRequest get;
  get.set_product_id("p");
  v1::GetStockResponse stock;
  ASSERT_TRUE(
      Call(*second_stub, &v1::InventoryService::Stub::GetStock, get, &stock)
          .ok());
  EXPECT_EQ(stock.reserved(), reserved);
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
// exits 0, the rows it swapped in equal the products' own figures once the
// load stops (a corrupted row of a product no event touches since comes
// back right), and the server, as the serving role, reads them. An unknown
// name exits 2.
TEST(ProjectionsProcessTest, RebuildUnderLoadSwapsInRowsEqualToTheDomain) {
  TestSchema schema("proc_rebuild");
  TestRoles roles(schema);
  MigrateAsOwner(INVENTORY_SERVER, roles);
  std::unique_ptr<ChildProcess> server = StartServer(roles, schema.name());
  auto stub = Connect(*server);
  ASSERT_TRUE(AddProduct(*stub, "p", 1'000'000).ok());
  {
    // Product q: reserved 2, then no event touches it again.
    ASSERT_TRUE(AddProduct(*stub, "q", 5).ok());
    v1::ReserveStockRequest reserve;
    reserve.set_product_id("q");
    reserve.set_reservation_id("q-1");
    reserve.set_quantity(2);
    v1::ReserveStockResponse reserved;
    ASSERT_TRUE(Call(*stub, &v1::InventoryService::Stub::ReserveStock, reserve,
                     &reserved)
                    .ok());
  }
  for (absl::Time end = absl::Now() + absl::Seconds(20);
       ListedReserved(*stub, "q") != 2 && absl::Now() < end;) {
    absl::SleepFor(absl::Milliseconds(50));
  }
  shop::testing::ExecAsAdmin(
      absl::StrCat("UPDATE ", schema.name(),
                   ".stock_levels SET reserved = -1 WHERE product_id = 'q'"));
  ReservationLoad load(*stub);
  absl::SleepFor(absl::Milliseconds(300));
  // The leader left it as it is: only the rebuild can put it right.
  ASSERT_EQ(ListedReserved(*stub, "q"), -1);

  std::vector<std::string> rebuild = roles.MigrateArgs();
  rebuild[0] = "stock_levels";
  rebuild.insert(rebuild.begin(), {"projections", "rebuild"});
  ChildProcess rebuilt(INVENTORY_SERVER, rebuild);
  EXPECT_EQ(rebuilt.WaitForExit(absl::Seconds(60)), 0)
      << absl::StrJoin(rebuilt.Lines(), "\n");
  absl::SleepFor(absl::Milliseconds(300));
  load.Stop();

  v1::GetStockRequest get;
  get.set_product_id("p");
  v1::GetStockResponse stock;
  ASSERT_TRUE(
      Call(*stub, &v1::InventoryService::Stub::GetStock, get, &stock).ok());
  EXPECT_GT(stock.reserved(), 0);
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (ListedReserved(*stub, "p") != stock.reserved() &&
         absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(50));
  }
  EXPECT_EQ(ListedReserved(*stub, "p"), stock.reserved());
  EXPECT_EQ(ListedReserved(*stub, "q"), 2);

  rebuild[2] = "no_such_projection";
  ChildProcess unknown(INVENTORY_SERVER, rebuild);
  EXPECT_EQ(unknown.WaitForExit(absl::Seconds(20)), 2);
  EXPECT_THAT(absl::StrJoin(unknown.Lines(), "\n"),
              HasSubstr("one of stock_levels"));
}

}  // namespace
