// The failover drill: both servers as real processes on a multi-host URL to
// a pg_auto_failover cluster (deploy/local/ha.sh), under 32 callers, while
// the primary is killed, once in each direction.
#include <signal.h>

#include <atomic>
#include <cstdlib>
#include <iostream>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "cart/v1/cart.grpc.pb.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "inventory/v1/inventory.grpc.pb.h"
#include "pqxx/pqxx"
#include "tests/support/child_process.h"
#include "tests/support/server_process.h"

namespace {

using ::shop::testing::ChildProcess;
using ::shop::testing::PortOf;

constexpr char kCluster[] = "drill";
constexpr int kProducts = 16;
constexpr int kCallersPerService = 16;
constexpr absl::Duration kCallDeadline = absl::Seconds(10);
constexpr absl::Duration kStartTimeout = absl::Seconds(60);

// Runs ha.sh with `args`; its output, and a test failure if it fails.
std::string HaScript(const std::vector<std::string>& args,
                     absl::Duration timeout = absl::Seconds(240)) {
  std::vector<std::string> full = args;
  full.push_back(kCluster);
  ChildProcess script(HA_SCRIPT, full);
  const int code = script.WaitForExit(timeout);
  const std::string output = absl::StrJoin(script.Lines(), "\n");
  EXPECT_EQ(code, 0) << "ha.sh " << absl::StrJoin(full, " ") << ":\n" << output;
  return output;
}

// The variables of `ha.sh env`'s `export A='x' B=y` lines.
std::map<std::string, std::string> ParseExports(const std::string& text) {
  std::map<std::string, std::string> vars;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (!absl::ConsumePrefix(&line, "export ")) continue;
    for (absl::string_view word : absl::StrSplit(line, ' ')) {
      const size_t eq = word.find('=');
      if (eq == absl::string_view::npos) continue;
      absl::string_view value = word.substr(eq + 1);
      absl::ConsumePrefix(&value, "'");
      absl::ConsumeSuffix(&value, "'");
      vars[std::string(word.substr(0, eq))] = std::string(value);
    }
  }
  return vars;
}

std::shared_ptr<grpc::Channel> Connect(int port) {
  return grpc::CreateChannel(absl::StrCat("127.0.0.1:", port),
                             grpc::InsecureChannelCredentials());
}

void SetDeadline(grpc::ClientContext& context, absl::Duration d) {
  context.set_deadline(absl::ToChronoTime(absl::Now() + d));
}

// What the callers of one service saw during one drill.
struct Tally {
  absl::Mutex mu;
  // Reservation ids of calls answered OK.
  std::vector<std::string> acknowledged ABSL_GUARDED_BY(mu);
  std::map<std::string, int> failures_by_code ABSL_GUARDED_BY(mu);
  // The first message of each code, to name what went wrong.
  std::map<std::string, std::string> message_by_code ABSL_GUARDED_BY(mu);
  absl::Time first_failure ABSL_GUARDED_BY(mu) = absl::InfiniteFuture();
  absl::Time last_failure ABSL_GUARDED_BY(mu) = absl::InfinitePast();
  absl::Time last_success ABSL_GUARDED_BY(mu) = absl::InfinitePast();

  void Record(const grpc::Status& status, const std::string& reservation_id,
              absl::Time answered) {
    absl::MutexLock lock(&mu);
    if (status.ok()) {
      acknowledged.push_back(reservation_id);
      last_success = std::max(last_success, answered);
      return;
    }
    const std::string code = std::to_string(status.error_code());
    ++failures_by_code[code];
    message_by_code.emplace(code, status.error_message());
    first_failure = std::min(first_failure, answered);
    last_failure = std::max(last_failure, answered);
  }
};

// Health of one server's readiness name, polled every 100 ms.
struct HealthWatch {
  std::atomic<bool> not_serving_seen{false};
  std::atomic<bool> serving_now{false};
  // Unix microseconds of the first and last NOT_SERVING after the kill.
  std::atomic<int64_t> first_not_serving{0}, last_not_serving{0};

  double NotServingSeconds() const {
    return (last_not_serving - first_not_serving) / 1e6;
  }
};

// The figures of one direction of the drill, for RELIABILITY.md.
struct DrillFigures {
  std::string killed;
  int inventory_acknowledged = 0, cart_acknowledged = 0;
  int inventory_found = 0, cart_found = 0;
  std::map<std::string, int> inventory_failures, cart_failures;
  double failing_seconds = 0;    // first failed answer to last failed answer
  double recovered_seconds = 0;  // kill to both services' last failure
  double inventory_not_serving = 0, cart_not_serving = 0;  // seconds
};

// Every figure GetStock shows that the drill's events move, folded from
// history by the test itself.
struct Folded {
  int64_t on_hand = 0;
  int64_t reserved = 0;
};

class FailoverDrillTest : public ::testing::Test {
 protected:
  void SetUp() override {
    HaScript({"destroy"});
    HaScript({"start"});
    env_ = ParseExports(HaScript({"env"}));
    ASSERT_FALSE(env_["INVENTORY_DATABASE_URL"].empty());
    for (const char* server : {INVENTORY_SERVER, CART_SERVER}) {
      ChildProcess migrate(
          server, {"migrate"},
          {"INVENTORY_MIGRATE_DATABASE_URL=" +
               env_["INVENTORY_MIGRATE_DATABASE_URL"],
           "CART_MIGRATE_DATABASE_URL=" + env_["CART_MIGRATE_DATABASE_URL"]});
      ASSERT_EQ(migrate.WaitForExit(kStartTimeout), 0)
          << absl::StrJoin(migrate.Lines(), "\n");
    }
    inventory_ = std::make_unique<ChildProcess>(
        INVENTORY_SERVER,
        std::vector<std::string>{
            "--listen=127.0.0.1:0",
            "--database_url=" + env_["INVENTORY_DATABASE_URL"],
            "--metrics_listen=127.0.0.1:0", "--access_log=false"});
    inventory_port_ = PortOf(*inventory_);
    cart_ = std::make_unique<ChildProcess>(
        CART_SERVER,
        std::vector<std::string>{
            "--listen=127.0.0.1:0",
            "--database_url=" + env_["CART_DATABASE_URL"],
            "--metrics_listen=127.0.0.1:0", "--access_log=false",
            absl::StrCat("--inventory_address=127.0.0.1:", inventory_port_)});
    cart_port_ = PortOf(*cart_);
    inventory_stub_ =
        inventory::v1::InventoryService::NewStub(Connect(inventory_port_));
    cart_stub_ = cart::v1::CartService::NewStub(Connect(cart_port_));
    for (int p = 0; p < kProducts; ++p) {
      inventory::v1::AddProductRequest request;
      request.set_product_id(absl::StrCat("p-", p));
      request.set_name(absl::StrCat("Product ", p));
      request.set_price_cents(100);
      request.set_initial_quantity(1'000'000);
      inventory::v1::AddProductResponse response;
      grpc::ClientContext context;
      SetDeadline(context, kCallDeadline);
      grpc::Status status =
          inventory_stub_->AddProduct(&context, request, &response);
      ASSERT_TRUE(status.ok()) << status.error_message();
    }
  }

  void TearDown() override {
    for (ChildProcess* server : {cart_.get(), inventory_.get()}) {
      if (server == nullptr) continue;
      if (HasFailure()) {
        // What the servers said went wrong names the cause of a failure.
        int shown = 0;
        for (const std::string& line : server->Lines()) {
          if (absl::StrContains(line, "\"level\":\"error\"") && ++shown <= 20) {
            std::cout << line << std::endl;
          }
        }
      }
      server->Signal(SIGTERM);
      EXPECT_EQ(server->WaitForExit(absl::Seconds(30)), 0)
          << absl::StrJoin(server->Lines(), "\n");
    }
    if (std::getenv("SHOP_DRILL_KEEP") == nullptr) HaScript({"destroy"});
  }

  // One drill: load on both services, the primary killed, load until both
  // recovered; then the promises checked against the new primary.
  DrillFigures Drill(const std::string& run) {
    DrillFigures figures;
    figures.killed = Trim(HaScript({"primary"}));
    EXPECT_TRUE(figures.killed == "node1" || figures.killed == "node2")
        << figures.killed;
    // The carts of this run, created before the load.
    for (int c = 0; c < kCallersPerService; ++c) {
      cart::v1::CreateCartRequest request;
      request.set_cart_id(absl::StrCat(run, "-c-", c));
      request.set_customer_id(absl::StrCat("customer-", c));
      cart::v1::CreateCartResponse response;
      grpc::ClientContext context;
      SetDeadline(context, kCallDeadline);
      grpc::Status status =
          cart_stub_->CreateCart(&context, request, &response);
      EXPECT_TRUE(status.ok()) << status.error_message();
    }

    Tally inventory_tally, cart_tally;
    HealthWatch inventory_health, cart_health;
    std::atomic<bool> stop{false};
    std::atomic<bool> killed{false};
    std::vector<std::thread> threads;
    for (int i = 0; i < kCallersPerService; ++i) {
      threads.emplace_back([&, i] {
        for (int n = 0; !stop; ++n) {
          inventory::v1::ReserveStockRequest request;
          request.set_product_id(absl::StrCat("p-", (i + n) % kProducts));
          request.set_quantity(1);
          request.set_reservation_id(absl::StrCat(run, "-r-", i, "-", n));
          request.set_ttl_seconds(86'400);
          inventory::v1::ReserveStockResponse response;
          grpc::ClientContext context;
          SetDeadline(context, kCallDeadline);
          grpc::Status status =
              inventory_stub_->ReserveStock(&context, request, &response);
          inventory_tally.Record(status, request.reservation_id(), absl::Now());
          if (!status.ok()) absl::SleepFor(absl::Milliseconds(50));
        }
      });
      threads.emplace_back([&, i] {
        for (int n = 0; !stop; ++n) {
          cart::v1::AddItemRequest request;
          request.set_cart_id(absl::StrCat(run, "-c-", i));
          request.set_product_id(absl::StrCat("p-", (i + n) % kProducts));
          request.set_quantity(1);
          request.set_request_id(absl::StrCat(run, "-a-", i, "-", n));
          cart::v1::AddItemResponse response;
          grpc::ClientContext context;
          SetDeadline(context, kCallDeadline);
          grpc::Status status =
              cart_stub_->AddItem(&context, request, &response);
          cart_tally.Record(status, response.reservation_id(), absl::Now());
          if (!status.ok()) absl::SleepFor(absl::Milliseconds(50));
        }
      });
    }
    for (auto [port, name, watch] :
         {std::tuple{inventory_port_, "inventory.v1.InventoryService",
                     &inventory_health},
          std::tuple{cart_port_, "cart.v1.CartService", &cart_health}}) {
      threads.emplace_back([&, port, name, watch] {
        auto health = grpc::health::v1::Health::NewStub(Connect(port));
        while (!stop) {
          grpc::health::v1::HealthCheckRequest request;
          request.set_service(name);
          grpc::health::v1::HealthCheckResponse response;
          grpc::ClientContext context;
          SetDeadline(context, absl::Milliseconds(500));
          const bool serving =
              health->Check(&context, request, &response).ok() &&
              response.status() ==
                  grpc::health::v1::HealthCheckResponse::SERVING;
          watch->serving_now = serving;
          if (!serving && killed) {
            const int64_t now = absl::ToUnixMicros(absl::Now());
            if (!watch->not_serving_seen.exchange(true)) {
              watch->first_not_serving = now;
            }
            watch->last_not_serving = now;
          }
          absl::SleepFor(absl::Milliseconds(100));
        }
      });
    }

    absl::SleepFor(absl::Seconds(3));
    const absl::Time kill_time = absl::Now();
    killed = true;
    HaScript({"crash", figures.killed});
    // Load until both services have answered OK for 3 s after their last
    // failure and both are SERVING again, or a minute passed.
    const absl::Time give_up = kill_time + absl::Seconds(60);
    while (absl::Now() < give_up) {
      absl::SleepFor(absl::Milliseconds(200));
      auto recovered = [&](Tally& tally) {
        absl::MutexLock lock(&tally.mu);
        return tally.last_failure != absl::InfinitePast() &&
               tally.last_success > tally.last_failure + absl::Seconds(3);
      };
      if (recovered(inventory_tally) && recovered(cart_tally) &&
          inventory_health.serving_now && cart_health.serving_now) {
        break;
      }
    }
    stop = true;
    for (std::thread& t : threads) t.join();

    absl::MutexLock inventory_lock(&inventory_tally.mu);
    absl::MutexLock cart_lock(&cart_tally.mu);
    figures.inventory_acknowledged = inventory_tally.acknowledged.size();
    figures.cart_acknowledged = cart_tally.acknowledged.size();
    figures.inventory_failures = inventory_tally.failures_by_code;
    figures.cart_failures = cart_tally.failures_by_code;
    const absl::Time first_failure =
        std::min(inventory_tally.first_failure, cart_tally.first_failure);
    const absl::Time last_failure =
        std::max(inventory_tally.last_failure, cart_tally.last_failure);
    figures.failing_seconds =
        absl::ToDoubleSeconds(last_failure - first_failure);
    figures.recovered_seconds = absl::ToDoubleSeconds(last_failure - kill_time);

    // (b) The gap was seen, and only as UNAVAILABLE (14).
    EXPECT_NE(last_failure, absl::InfinitePast()) << "no call failed at all";
    for (Tally* tally : {&inventory_tally, &cart_tally}) {
      for (const auto& [code, count] : tally->failures_by_code) {
        EXPECT_EQ(code, std::to_string(grpc::StatusCode::UNAVAILABLE))
            << count << " calls failed with code " << code
            << ", first: " << tally->message_by_code[code];
      }
    }
    // (c) Both recovered without a restart, and readiness told the gap.
    EXPECT_GT(inventory_tally.last_success,
              inventory_tally.last_failure + absl::Seconds(3))
        << "inventory did not recover";
    EXPECT_GT(cart_tally.last_success,
              cart_tally.last_failure + absl::Seconds(3))
        << "cart did not recover";
    figures.inventory_not_serving = inventory_health.NotServingSeconds();
    figures.cart_not_serving = cart_health.NotServingSeconds();
    EXPECT_TRUE(inventory_health.not_serving_seen);
    EXPECT_TRUE(cart_health.not_serving_seen);
    EXPECT_TRUE(inventory_health.serving_now);
    EXPECT_TRUE(cart_health.serving_now);

    // The read models caught up past the failover: a write now, then each
    // service's model asked to have applied it.
    std::string inventory_position, cart_position;
    {
      inventory::v1::ReserveStockRequest request;
      request.set_product_id("p-0");
      request.set_quantity(1);
      request.set_reservation_id(run + "-final");
      request.set_ttl_seconds(86'400);
      inventory::v1::ReserveStockResponse response;
      grpc::ClientContext context;
      SetDeadline(context, kCallDeadline);
      grpc::Status status =
          inventory_stub_->ReserveStock(&context, request, &response);
      EXPECT_TRUE(status.ok()) << status.error_message();
      inventory_position = response.position();
    }
    {
      cart::v1::AddItemRequest request;
      request.set_cart_id(run + "-c-0");
      request.set_product_id("p-1");
      request.set_quantity(1);
      request.set_request_id(run + "-final");
      cart::v1::AddItemResponse response;
      grpc::ClientContext context;
      SetDeadline(context, kCallDeadline);
      grpc::Status status = cart_stub_->AddItem(&context, request, &response);
      EXPECT_TRUE(status.ok()) << status.error_message();
      cart_position = response.position();
    }
    std::map<std::string, int64_t> modelled_reserved;
    {
      inventory::v1::ListStockRequest request;
      request.set_min_position(inventory_position);
      request.set_page_size(1000);
      inventory::v1::ListStockResponse response;
      grpc::ClientContext context;
      SetDeadline(context, absl::Seconds(20));
      grpc::Status status =
          inventory_stub_->ListStock(&context, request, &response);
      EXPECT_TRUE(status.ok()) << "stock_levels: " << status.error_message();
      for (const auto& level : response.levels()) {
        modelled_reserved[level.product_id()] += level.stock().reserved();
      }
    }
    {
      cart::v1::ListCartsRequest request;
      request.set_customer_id("customer-0");
      request.set_min_position(cart_position);
      cart::v1::ListCartsResponse response;
      grpc::ClientContext context;
      SetDeadline(context, absl::Seconds(20));
      grpc::Status status = cart_stub_->ListCarts(&context, request, &response);
      EXPECT_TRUE(status.ok()) << "customer_carts: " << status.error_message();
    }

    // (a) Every acknowledged reservation and item is in history on the new
    // primary, and GetStock equals a fold of that history.
    pqxx::connection db(env_["SHOP_PG_DSN"]);
    pqxx::nontransaction tx(db);
    std::set<std::string> reserved_ids, cart_ids;
    std::map<std::string, Folded> folded;
    for (const auto& row :
         tx.exec("SELECT stream_id, type, data->>'reservationId', "
                 "COALESCE((data->>'quantity')::bigint, 0) "
                 "FROM inventory.events WHERE stream_id LIKE 'product-%' "
                 "ORDER BY position")) {
      const std::string product = row[0].as<std::string>().substr(8);
      const std::string type = row[1].as<std::string>();
      const int64_t quantity = row[3].as<int64_t>();
      Folded& f = folded[product];
      if (type == "product.added") {
        f.on_hand += quantity;
      } else if (type == "stock.reserved") {
        f.reserved += quantity;
        reserved_ids.insert(row[2].as<std::string>());
      } else if (type == "stock.released" || type == "reservation.expired") {
        f.reserved -= quantity;
      } else {
        ADD_FAILURE() << "the drill does not fold " << type;
      }
    }
    for (const auto& row :
         tx.exec("SELECT data->>'reservationId' FROM cart.events "
                 "WHERE type = 'item.added'")) {
      cart_ids.insert(row[0].as<std::string>());
    }
    for (const std::string& id : inventory_tally.acknowledged) {
      if (reserved_ids.contains(id)) {
        ++figures.inventory_found;
      } else {
        ADD_FAILURE() << "acknowledged reservation " << id << " is lost";
      }
    }
    for (const std::string& id : cart_tally.acknowledged) {
      if (cart_ids.contains(id) && reserved_ids.contains(id)) {
        ++figures.cart_found;
      } else {
        ADD_FAILURE() << "acknowledged item (reservation " << id << ") is lost";
      }
    }
    for (const auto& [product, f] : folded) {
      inventory::v1::GetStockRequest request;
      request.set_product_id(product);
      inventory::v1::GetStockResponse stock;
      grpc::ClientContext context;
      SetDeadline(context, kCallDeadline);
      grpc::Status read = inventory_stub_->GetStock(&context, request, &stock);
      EXPECT_TRUE(read.ok()) << product << ": " << read.error_message();
      EXPECT_EQ(stock.on_hand(), f.on_hand) << product;
      EXPECT_EQ(stock.reserved(), f.reserved) << product;
      EXPECT_EQ(stock.available(), f.on_hand - f.reserved) << product;
      EXPECT_EQ(modelled_reserved[product], f.reserved)
          << product << " in the read model stock_levels";
    }
    Report(run, figures);
    return figures;
  }

  static std::string Trim(std::string s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
    const size_t last_line = s.rfind('\n');
    return last_line == std::string::npos ? s : s.substr(last_line + 1);
  }

  static void Report(const std::string& run, const DrillFigures& f) {
    auto codes = [](const std::map<std::string, int>& failures) {
      std::string text;
      for (const auto& [code, count] : failures) {
        absl::StrAppend(&text, text.empty() ? "" : " ",
                        code == "14" ? "UNAVAILABLE" : "code " + code, "=",
                        count);
      }
      return text.empty() ? std::string("none") : text;
    };
    std::cout << "DRILL " << run << ": killed " << f.killed
              << "; inventory acknowledged " << f.inventory_acknowledged
              << " found " << f.inventory_found << ", failed "
              << codes(f.inventory_failures) << "; cart acknowledged "
              << f.cart_acknowledged << " found " << f.cart_found << ", failed "
              << codes(f.cart_failures) << "; calls failed for "
              << f.failing_seconds << " s; last failure " << f.recovered_seconds
              << " s after the kill; NOT_SERVING for "
              << f.inventory_not_serving << " s (inventory), "
              << f.cart_not_serving << " s (cart)" << std::endl;
  }

  std::map<std::string, std::string> env_;
  std::unique_ptr<ChildProcess> inventory_, cart_;
  int inventory_port_ = 0, cart_port_ = 0;
  std::unique_ptr<inventory::v1::InventoryService::Stub> inventory_stub_;
  std::unique_ptr<cart::v1::CartService::Stub> cart_stub_;
};

// Kill -9 of the primary, then of the other node once the first is back as
// its secondary: no acknowledged event lost, the gap only UNAVAILABLE and
// NOT_SERVING, both services back on the new primary by themselves.
TEST_F(FailoverDrillTest, NoAcknowledgedEventIsLostInEitherDirection) {
  const DrillFigures first = Drill("d1");
  HaScript({"rejoin", first.killed});
  const DrillFigures second = Drill("d2");
  EXPECT_NE(second.killed, first.killed)
      << "the second drill went the same way";
}

}  // namespace
