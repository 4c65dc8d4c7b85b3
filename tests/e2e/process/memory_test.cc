// The server's memory under hostile bursts: rounds of oversized requests
// (refused before they are parsed) and of the largest requests that are
// parsed. The resident size must stay under the pods' limit and come back
// once the burst is over.
#include <fstream>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "inventory/v1/inventory.grpc.pb.h"
#include "tests/support/child_process.h"
#include "tests/support/server_process.h"
#include "tests/support/test_database.h"

namespace {

using ::shop::testing::ChildProcess;
using ::shop::testing::MigrateAsOwner;
using ::shop::testing::PortOf;
using ::shop::testing::TestRoles;
using ::shop::testing::TestSchema;

// deploy/k8s/base/*/deployment.yaml: resources.limits.memory.
constexpr int64_t kPodLimitKib = 256 * 1024;

// A field of /proc/PID/status in KiB (VmRSS now, VmHWM the peak).
int64_t StatusKib(pid_t pid, const std::string& field) {
  std::ifstream status(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind(field + ":", 0) != 0) continue;
    int64_t kib = 0;
    std::string number = line.substr(field.size() + 1);
    number = number.substr(0, number.find("kB"));
    EXPECT_TRUE(absl::SimpleAtoi(number, &kib)) << line;
    return kib;
  }
  ADD_FAILURE() << "no " << field << " for " << pid;
  return 0;
}

// `rounds` of `callers` concurrent AddProduct calls whose name has `bytes`.
void Burst(inventory::v1::InventoryService::Stub& stub, int rounds, int callers,
           size_t bytes, grpc::StatusCode expected) {
  for (int round = 0; round < rounds; ++round) {
    std::vector<std::thread> threads;
    for (int i = 0; i < callers; ++i) {
      threads.emplace_back([&, i] {
        inventory::v1::AddProductRequest request;
        request.set_product_id(absl::StrCat("big-", round, "-", i));
        request.set_name(std::string(bytes, 'x'));
        inventory::v1::AddProductResponse response;
        grpc::ClientContext context;
        EXPECT_EQ(stub.AddProduct(&context, request, &response).error_code(),
                  expected);
      });
    }
    for (std::thread& thread : threads) thread.join();
  }
}

TEST(MemoryTest, BurstsOfLargeRequestsStayUnderThePodLimitAndAreGivenBack) {
  TestSchema schema("proc_memory");
  TestRoles roles(schema);
  MigrateAsOwner(INVENTORY_SERVER, roles);
  ChildProcess server(
      INVENTORY_SERVER,
      {"--listen=127.0.0.1:0", "--database_url=" + roles.ServingDsn(),
       "--schema=" + schema.name(), "--metrics_listen=127.0.0.1:0",
       "--access_log=false"});
  auto stub = inventory::v1::InventoryService::NewStub(
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", PortOf(server)),
                          grpc::InsecureChannelCredentials()));
  // Warm: the threads and connections a normal call needs.
  Burst(*stub, 1, 8, 10, grpc::StatusCode::OK);
  const int64_t before = StatusKib(server.pid(), "VmRSS");

  // 64 times the limit: refused, but gRPC reads each whole before it says so.
  Burst(*stub, 6, 8, 16 << 20, grpc::StatusCode::RESOURCE_EXHAUSTED);
  // Just under the 256 KiB limit: parsed, then refused by validation.
  Burst(*stub, 6, 8, (256 << 10) - 1024, grpc::StatusCode::INVALID_ARGUMENT);
  const int64_t peak = StatusKib(server.pid(), "VmHWM");
  const int64_t after_burst = StatusKib(server.pid(), "VmRSS");
  // At least half of what the burst took comes back (the rest is the
  // allocator's caches of small blocks); without giving memory back, the
  // server kept all of it.
  const int64_t kept_at_most = before + (peak - before) / 2;
  int64_t settled = after_burst;
  for (absl::Time end = absl::Now() + absl::Seconds(20);
       absl::Now() < end && settled > kept_at_most;
       absl::SleepFor(absl::Milliseconds(500))) {
    settled = StatusKib(server.pid(), "VmRSS");
  }
  std::cout << "resident KiB: before " << before << ", peak " << peak
            << ", after the burst " << after_burst << ", settled " << settled
            << "\n";
  EXPECT_LT(peak, kPodLimitKib);
  EXPECT_LE(settled, kept_at_most);
}

}  // namespace
