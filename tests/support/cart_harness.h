#pragma once

#include <memory>
#include <string>

#include "cart/v1/cart.grpc.pb.h"
#include "common/eventstore/connection_pool.h"
#include "common/eventstore/event_store.h"
#include "common/eventstore/feed.h"
#include "common/server/server.h"
#include "grpcpp/grpcpp.h"
#include "services/cart/api/cart_service.h"
#include "services/cart/api/order_service.h"
#include "services/cart/app/carts.h"
#include "services/cart/inventory_client/grpc_inventory_client.h"
#include "services/cart/store/cart_store.h"
#include "services/cart/store/order_store.h"
#include "tests/support/test_database.h"

namespace shop::testing {

// A real cart server in this process (CartService and OrderService), on
// its own schema, calling the inventory service at `inventory_address`
// over gRPC.
class CartHarness final {
 public:
  CartHarness(const std::string& schema, const std::string& inventory_address,
              cart::CartsOptions options = {},
              absl::Duration inventory_deadline = absl::Seconds(5),
              const std::string& dsn = TestDsn(), int pool_size = 16);
  ~CartHarness();

  cart::v1::CartService::Stub& stub() { return *stub_; }
  cart::v1::OrderService::Stub& orders() { return *order_stub_; }
  eventstore::EventStore& events() { return *events_; }
  eventstore::Feed& feed() { return *feed_; }
  cart::CartReports& reports() { return *reports_; }
  std::string address() const;

 private:
  std::unique_ptr<eventstore::ConnectionPool> pool_;
  std::unique_ptr<eventstore::EventStore> events_;
  std::unique_ptr<eventstore::Feed> feed_;
  std::unique_ptr<cart::CartStore> store_;
  std::unique_ptr<cart::InventoryClient> inventory_;
  std::unique_ptr<cart::Carts> carts_;
  std::unique_ptr<cart::CartHistory> history_;
  std::unique_ptr<cart::CartReports> reports_;
  std::unique_ptr<cart::CartServiceImpl> service_;
  std::unique_ptr<cart::EventOrderStore> order_store_;
  std::unique_ptr<cart::Orders> orders_;
  std::unique_ptr<cart::OrderServiceImpl> order_service_;
  std::unique_ptr<shop::Server> server_;
  std::unique_ptr<cart::v1::CartService::Stub> stub_;
  std::unique_ptr<cart::v1::OrderService::Stub> order_stub_;
};

}  // namespace shop::testing
