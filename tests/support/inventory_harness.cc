#include "tests/support/inventory_harness.h"

#include "absl/strings/str_cat.h"
#include "common/errors/errors.h"
#include "common/eventstore/migrations.h"
#include "common/rpc/status_mapping.h"
#include "gtest/gtest.h"

namespace shop::testing {

InventoryHarness::InventoryHarness(const std::string& schema,
                                   const std::string& dsn, int pool_size,
                                   inventory::InventoryOptions options,
                                   eventstore::FeedOptions feed_options) {
  pool_ = std::make_unique<eventstore::ConnectionPool>(
      eventstore::PoolOptions{.dsn = dsn, .size = pool_size});
  absl::Status migrated = eventstore::Migrate(
      *pool_, schema, inventory::ProductStore::Migrations());
  EXPECT_TRUE(migrated.ok()) << migrated;
  // As in production: appends of concurrent calls share statements.
  events_ = std::make_unique<eventstore::EventStore>(
      pool_.get(), schema, eventstore::EventStoreOptions{.max_batch = 64});
  feed_options.dsn = dsn;
  feed_ = std::make_unique<eventstore::Feed>(events_.get(), feed_options);
  absl::Status started = feed_->Start();
  EXPECT_TRUE(started.ok()) << started;
  store_ = std::make_unique<inventory::ProductStore>(events_.get());
  warehouses_ = std::make_unique<inventory::WarehouseStore>(events_.get());
  options.clock = [this] { return clock_.Now(); };
  inventory_ = std::make_unique<inventory::Inventory>(
      store_.get(), warehouses_.get(), std::move(options));
  product_history_ = std::make_unique<inventory::ProductHistory>(events_.get());
  history_ = std::make_unique<inventory::StockHistory>(product_history_.get(),
                                                       events_.get());
  stock_levels_ = std::make_unique<inventory::StockLevels>(events_.get());
  reports_ = std::make_unique<inventory::StockReports>(
      stock_levels_.get(), events_.get(), feed_.get(),
      eventstore::ProjectionOptions{.dsn = dsn,
                                    .retry = absl::Milliseconds(100)});
  reports_->Start();
  service_ = std::make_unique<inventory::InventoryServiceImpl>(
      inventory_.get(), history_.get(), reports_.get(), feed_.get());
  absl::StatusOr<std::unique_ptr<shop::Server>> server = shop::Server::Start(
      {.listen_address = "127.0.0.1:0",
       .health_service_name = "inventory.v1.InventoryService",
       .readiness_check = [this] { return pool_->Ping(); },
       .readiness_interval = absl::Milliseconds(100),
       .shutdown_grace = absl::Seconds(5),
       .access_log = false,
       .on_drain = [this] { feed_->Close(); }},
      {service_.get()});
  EXPECT_TRUE(server.ok()) << server.status();
  server_ = *std::move(server);
  channel_ = grpc::CreateChannel(address(), grpc::InsecureChannelCredentials());
  stub_ = inventory::v1::InventoryService::NewStub(channel_);
}

InventoryHarness::~InventoryHarness() { server_->Shutdown(); }

std::string InventoryHarness::address() const {
  return absl::StrCat("127.0.0.1:", server_->port());
}

std::string ReasonOf(const grpc::Status& status) {
  return shop::ReasonOf(shop::FromGrpcStatus(status));
}

}  // namespace shop::testing
