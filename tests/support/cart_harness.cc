#include "tests/support/cart_harness.h"

#include "absl/strings/str_cat.h"
#include "common/eventstore/migrations.h"
#include "gtest/gtest.h"

namespace shop::testing {

CartHarness::CartHarness(const std::string& schema,
                         const std::string& inventory_address,
                         cart::CartsOptions options,
                         absl::Duration inventory_deadline,
                         const std::string& dsn, int pool_size) {
  pool_ = std::make_unique<eventstore::ConnectionPool>(
      eventstore::PoolOptions{.dsn = dsn, .size = pool_size});
  absl::Status migrated =
      eventstore::Migrate(*pool_, schema, cart::EventOrderStore::Migrations());
  EXPECT_TRUE(migrated.ok()) << migrated;
  // As in production: appends of concurrent calls share statements.
  events_ = std::make_unique<eventstore::EventStore>(
      pool_.get(), schema, eventstore::EventStoreOptions{.max_batch = 64});
  feed_ = std::make_unique<eventstore::Feed>(
      events_.get(), eventstore::FeedOptions{.dsn = dsn});
  absl::Status started = feed_->Start();
  EXPECT_TRUE(started.ok()) << started;
  store_ = std::make_unique<cart::EventCartStore>(events_.get());
  inventory_ = std::make_unique<cart::GrpcInventoryClient>(
      grpc::CreateChannel(inventory_address,
                          grpc::InsecureChannelCredentials()),
      inventory_deadline);
  carts_ = std::make_unique<cart::Carts>(store_.get(), inventory_.get(),
                                         std::move(options));
  history_ = std::make_unique<cart::CartHistory>(events_.get());
  reports_ = std::make_unique<cart::CartReports>(
      events_.get(), feed_.get(),
      eventstore::ProjectionOptions{.dsn = dsn,
                                    .retry = absl::Milliseconds(100)});
  reports_->Start();
  service_ = std::make_unique<cart::CartServiceImpl>(
      carts_.get(), history_.get(), reports_.get(), feed_.get());
  order_store_ = std::make_unique<cart::EventOrderStore>(events_.get());
  orders_ =
      std::make_unique<cart::Orders>(order_store_.get(), inventory_.get());
  order_service_ = std::make_unique<cart::OrderServiceImpl>(orders_.get());
  absl::StatusOr<std::unique_ptr<shop::Server>> server =
      shop::Server::Start({.listen_address = "127.0.0.1:0",
                           .health_service_name = "cart.v1.CartService",
                           .readiness_check = [this] { return pool_->Ping(); },
                           .shutdown_grace = absl::Seconds(5),
                           .access_log = false,
                           .on_drain = [this] { feed_->Close(); }},
                          {service_.get(), order_service_.get()});
  EXPECT_TRUE(server.ok()) << server.status();
  server_ = *std::move(server);
  auto channel =
      grpc::CreateChannel(address(), grpc::InsecureChannelCredentials());
  stub_ = cart::v1::CartService::NewStub(channel);
  order_stub_ = cart::v1::OrderService::NewStub(channel);
}

CartHarness::~CartHarness() { server_->Shutdown(); }

std::string CartHarness::address() const {
  return absl::StrCat("127.0.0.1:", server_->port());
}

}  // namespace shop::testing
