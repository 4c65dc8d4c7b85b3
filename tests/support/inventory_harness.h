#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "common/eventstore/connection_pool.h"
#include "common/eventstore/event_store.h"
#include "common/eventstore/feed.h"
#include "common/server/server.h"
#include "grpcpp/grpcpp.h"
#include "inventory/v1/inventory.grpc.pb.h"
#include "services/inventory/api/inventory_service.h"
#include "services/inventory/app/inventory.h"
#include "services/inventory/app/stock_history.h"
#include "services/inventory/app/stock_reports.h"
#include "services/inventory/store/product_history.h"
#include "services/inventory/store/product_store.h"
#include "services/inventory/store/warehouse_store.h"
#include "tests/support/test_database.h"

namespace shop::testing {

// A clock the test moves forward instead of sleeping.
class FakeClock final {
 public:
  absl::Time Now() const {
    return absl::Now() + absl::Microseconds(offset_micros_.load());
  }
  void Advance(absl::Duration d) {
    offset_micros_ += absl::ToInt64Microseconds(d);
  }

 private:
  std::atomic<int64_t> offset_micros_ = 0;
};

// A real inventory server in this process: real PostgreSQL (its own
// schema), real gRPC on a loopback port.
class InventoryHarness final {
 public:
  // `schema` may be shared by two harnesses to play two replicas.
  // The harness sets `options.clock` to its own.
  explicit InventoryHarness(const std::string& schema,
                            const std::string& dsn = TestDsn(),
                            int pool_size = 16,
                            inventory::InventoryOptions options = {},
                            eventstore::FeedOptions feed_options = {});
  ~InventoryHarness();

  std::string address() const;
  inventory::v1::InventoryService::Stub& stub() { return *stub_; }
  std::shared_ptr<grpc::Channel> channel() { return channel_; }
  inventory::Inventory& app() { return *inventory_; }
  inventory::InventoryServiceImpl& service() { return *service_; }
  inventory::StockHistory& history() { return *history_; }
  inventory::StockReports& reports() { return *reports_; }
  inventory::ProductHistory& product_history() { return *product_history_; }
  eventstore::EventStore& events() { return *events_; }
  eventstore::Feed& feed() { return *feed_; }
  FakeClock& clock() { return clock_; }
  shop::Server& server() { return *server_; }

 private:
  FakeClock clock_;
  std::unique_ptr<eventstore::ConnectionPool> pool_;
  std::unique_ptr<eventstore::EventStore> events_;
  std::unique_ptr<eventstore::Feed> feed_;
  std::unique_ptr<inventory::ProductStore> store_;
  std::unique_ptr<inventory::WarehouseStore> warehouses_;
  std::unique_ptr<inventory::Inventory> inventory_;
  std::unique_ptr<inventory::ProductHistory> product_history_;
  std::unique_ptr<inventory::StockHistory> history_;
  std::unique_ptr<inventory::StockLevels> stock_levels_;
  std::unique_ptr<inventory::StockReports> reports_;
  std::unique_ptr<inventory::InventoryServiceImpl> service_;
  std::unique_ptr<shop::Server> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<inventory::v1::InventoryService::Stub> stub_;
};

// The reason in a gRPC status's ErrorInfo detail, or "".
std::string ReasonOf(const grpc::Status& status);

}  // namespace shop::testing
