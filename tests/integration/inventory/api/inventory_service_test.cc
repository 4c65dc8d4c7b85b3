#include "services/inventory/api/inventory_service.h"

#include <atomic>
#include <cstdlib>
#include <map>
#include <memory>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "gtest/gtest.h"
#include "services/inventory/domain/product.h"
#include "tests/support/inventory_harness.h"
#include "tests/support/reflection_client.h"
#include "tests/support/tcp_proxy.h"

namespace inventory {
namespace {

using ::shop::testing::InventoryHarness;
using ::shop::testing::ProxiedDatabase;
using ::shop::testing::ReasonOf;
using ::shop::testing::TestSchema;
using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::SizeIs;

class InventoryServiceTest : public ::testing::Test {
 protected:
  grpc::Status AddProduct(const std::string& id, int64_t quantity,
                          int64_t price = 4999) {
    v1::AddProductRequest request;
    request.set_product_id(id);
    request.set_name("Sneakers");
    request.set_price_cents(price);
    request.set_initial_quantity(quantity);
    v1::AddProductResponse response;
    grpc::ClientContext context;
    return harness_.stub().AddProduct(&context, request, &response);
  }

  grpc::Status Reserve(const std::string& product, const std::string& id,
                       int64_t quantity, v1::ReserveStockResponse* response,
                       int64_t ttl_seconds = 0) {
    v1::ReserveStockRequest request;
    request.set_product_id(product);
    request.set_reservation_id(id);
    request.set_quantity(quantity);
    request.set_ttl_seconds(ttl_seconds);
    grpc::ClientContext context;
    return harness_.stub().ReserveStock(&context, request, response);
  }

  grpc::Status Release(const std::string& product, const std::string& id,
                       v1::ReleaseStockResponse* response) {
    v1::ReleaseStockRequest request;
    request.set_product_id(product);
    request.set_reservation_id(id);
    grpc::ClientContext context;
    return harness_.stub().ReleaseStock(&context, request, response);
  }

  grpc::Status Commit(const std::string& product, const std::string& id) {
    v1::CommitReservationRequest request;
    request.set_product_id(product);
    request.set_reservation_id(id);
    request.set_order_id("order-1");
    v1::CommitReservationResponse response;
    grpc::ClientContext context;
    return harness_.stub().CommitReservation(&context, request, &response);
  }

  v1::GetStockResponse Stock(const std::string& product) {
    v1::GetStockRequest request;
    request.set_product_id(product);
    v1::GetStockResponse response;
    grpc::ClientContext context;
    grpc::Status status =
        harness_.stub().GetStock(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response;
  }

  std::vector<v1::RecordedEvent> History(const std::string& product) {
    v1::ListProductEventsRequest request;
    request.set_product_id(product);
    request.set_max_count(1000);
    v1::ListProductEventsResponse response;
    grpc::ClientContext context;
    grpc::Status status =
        harness_.stub().ListProductEvents(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return {response.events().begin(), response.events().end()};
  }

  TestSchema schema_{"inv_test"};
  InventoryHarness harness_{schema_.name()};
};

// The state a replay of the whole history arrives at.
Product Replay(const std::vector<v1::RecordedEvent>& history) {
  Product product;
  for (const v1::RecordedEvent& recorded : history) {
    absl::StatusOr<Event> event =
        FromJson(recorded.type(), recorded.data_json());
    EXPECT_TRUE(event.ok()) << event.status();
    if (event.ok()) product = Evolve(std::move(product), *event);
  }
  return product;
}

// A product is created once and reports its figures.
TEST_F(InventoryServiceTest, AddProductThenGetStock) {
  ASSERT_TRUE(AddProduct("sneakers-1", 3).ok());
  v1::GetStockResponse stock = Stock("sneakers-1");
  EXPECT_EQ(stock.name(), "Sneakers");
  EXPECT_EQ(stock.price_cents(), 4999);
  EXPECT_EQ(stock.on_hand(), 3);
  EXPECT_EQ(stock.available(), 3);
  EXPECT_EQ(stock.version(), 1);

  grpc::Status again = AddProduct("sneakers-1", 9);
  EXPECT_EQ(again.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_EQ(Stock("sneakers-1").on_hand(), 3);

  v1::GetStockRequest missing;
  missing.set_product_id("nope");
  v1::GetStockResponse response;
  grpc::ClientContext context;
  grpc::Status status = harness_.stub().GetStock(&context, missing, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(ReasonOf(status), "PRODUCT_NOT_FOUND");
}

// Receiving stock raises on hand and returns the new version.
TEST_F(InventoryServiceTest, ReceiveStockAddsUnits) {
  ASSERT_TRUE(AddProduct("p", 1).ok());
  v1::ReceiveStockRequest request;
  request.set_product_id("p");
  request.set_quantity(4);
  request.set_reference("po-77");
  v1::ReceiveStockResponse response;
  grpc::ClientContext context;
  ASSERT_TRUE(harness_.stub().ReceiveStock(&context, request, &response).ok());
  EXPECT_EQ(response.on_hand(), 5);
  EXPECT_EQ(response.version(), 2);
  std::vector<v1::RecordedEvent> history = History("p");
  ASSERT_THAT(history, SizeIs(2));
  EXPECT_EQ(history[1].type(), "stock.received");
  EXPECT_THAT(history[1].data_json(), HasSubstr("po-77"));
}

// Reserving more than is available is FAILED_PRECONDITION with a reason,
// and writes nothing.
TEST_F(InventoryServiceTest, InsufficientStockIsRefusedWithReason) {
  ASSERT_TRUE(AddProduct("p", 1).ok());
  v1::ReserveStockResponse response;
  grpc::Status status = Reserve("p", "r-1", 2, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(ReasonOf(status), "INSUFFICIENT_STOCK");
  EXPECT_EQ(status.error_message(),
            "insufficient stock for p: requested 2, available 1");
  EXPECT_EQ(Stock("p").version(), 1);
}

// A reservation answers with price, expiry and what is left; repeating it
// reserves nothing more; another quantity under the same id is refused.
TEST_F(InventoryServiceTest, ReservationIsIdempotentById) {
  ASSERT_TRUE(AddProduct("p", 5, 1250).ok());
  v1::ReserveStockResponse first;
  ASSERT_TRUE(Reserve("p", "r-1", 2, &first, 60).ok());
  EXPECT_EQ(first.unit_price_cents(), 1250);
  EXPECT_EQ(first.available(), 3);
  EXPECT_EQ(first.version(), 2);
  EXPECT_GT(first.expires_at().seconds(), 0);

  v1::ReserveStockResponse again;
  ASSERT_TRUE(Reserve("p", "r-1", 2, &again, 60).ok());
  EXPECT_EQ(again.expires_at().seconds(), first.expires_at().seconds());
  EXPECT_EQ(again.version(), 2);
  EXPECT_EQ(Stock("p").reserved(), 2);

  v1::ReserveStockResponse other;
  grpc::Status mismatch = Reserve("p", "r-1", 3, &other);
  EXPECT_EQ(mismatch.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(ReasonOf(mismatch), "RESERVATION_MISMATCH");
  EXPECT_EQ(Stock("p").reserved(), 2);
}

// Release returns units once, is a no-op after, NOT_FOUND when unknown;
// commit sells; ended ids are never reused.
TEST_F(InventoryServiceTest, ReleaseAndCommitLifecycle) {
  ASSERT_TRUE(AddProduct("p", 5).ok());
  v1::ReserveStockResponse reserved;
  ASSERT_TRUE(Reserve("p", "r-1", 2, &reserved).ok());
  ASSERT_TRUE(Reserve("p", "r-2", 1, &reserved).ok());

  v1::ReleaseStockResponse released;
  ASSERT_TRUE(Release("p", "r-1", &released).ok());
  EXPECT_EQ(released.released_quantity(), 2);
  EXPECT_EQ(released.available(), 4);
  v1::ReleaseStockResponse twice;
  ASSERT_TRUE(Release("p", "r-1", &twice).ok());
  EXPECT_EQ(twice.released_quantity(), 0);
  EXPECT_EQ(twice.version(), released.version());
  grpc::Status unknown = Release("p", "r-9", &twice);
  EXPECT_EQ(unknown.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(ReasonOf(unknown), "RESERVATION_NOT_FOUND");

  v1::ReserveStockResponse reuse;
  grpc::Status reused = Reserve("p", "r-1", 2, &reuse);
  EXPECT_EQ(reused.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(ReasonOf(reused), "RESERVATION_RELEASED");

  ASSERT_TRUE(Commit("p", "r-2").ok());
  ASSERT_TRUE(Commit("p", "r-2").ok());
  v1::GetStockResponse stock = Stock("p");
  EXPECT_EQ(stock.on_hand(), 5);
  EXPECT_EQ(stock.committed(), 1);
  EXPECT_EQ(stock.available(), 4);
  EXPECT_EQ(stock.reserved(), 0);
  grpc::Status after_sale = Release("p", "r-2", &twice);
  EXPECT_EQ(after_sale.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(ReasonOf(Commit("p", "r-1")), "RESERVATION_RELEASED");

  std::vector<std::string> types;
  for (const v1::RecordedEvent& event : History("p"))
    types.push_back(event.type());
  EXPECT_EQ(types, (std::vector<std::string>{"product.added", "stock.reserved",
                                             "stock.reserved", "stock.released",
                                             "stock.committed"}));
}

// A stale expected_version is ABORTED and writes nothing; a current one
// goes through.
TEST_F(InventoryServiceTest, ExpectedVersionMismatchIsAborted) {
  ASSERT_TRUE(AddProduct("p", 5).ok());
  v1::ReserveStockRequest request;
  request.set_product_id("p");
  request.set_reservation_id("r-1");
  request.set_quantity(1);
  request.set_expected_version(7);
  v1::ReserveStockResponse response;
  grpc::ClientContext context;
  grpc::Status status =
      harness_.stub().ReserveStock(&context, request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::ABORTED);
  EXPECT_EQ(ReasonOf(status), "WRONG_EXPECTED_VERSION");
  EXPECT_THAT(status.error_message(), HasSubstr("expected 7, actual 1"));
  EXPECT_EQ(Stock("p").version(), 1);

  request.set_expected_version(1);
  grpc::ClientContext retry;
  ASSERT_TRUE(harness_.stub().ReserveStock(&retry, request, &response).ok());
  EXPECT_EQ(response.version(), 2);
}

// Malformed requests are INVALID_ARGUMENT naming the field, and the
// database is not touched.
TEST_F(InventoryServiceTest, InvalidInputWritesNothing) {
  ASSERT_TRUE(AddProduct("p", 5).ok());
  v1::ReserveStockResponse response;
  struct Case {
    std::string product, reservation;
    int64_t quantity;
    std::string field;
  };
  for (const Case& c : std::vector<Case>{
           {"p", "r-1", -3, "quantity"},
           {"p", "r-1", 0, "quantity"},
           {"", "r-1", 1, "product_id"},
           {std::string(10 * 1024, 'p'), "r-1", 1, "product_id"},
           {"p", std::string(10 * 1024, 'r'), 1, "reservation_id"},
           {"p", "", 1, "reservation_id"}}) {
    grpc::Status status =
        Reserve(c.product, c.reservation, c.quantity, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(status.error_message(), HasSubstr(c.field));
  }
  EXPECT_EQ(AddProduct("", 1).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(AddProduct("q", -1).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(AddProduct("q", 1, -1).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(History("p"), SizeIs(1));
  absl::StatusOr<eventstore::StreamHead> q =
      harness_.events().ReadHead("product-q");
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(q->version, 0);
}

// 50 callers on two replicas race for 10 units: exactly 10 win, and the
// stored state equals a replay of the history.
TEST_F(InventoryServiceTest, FiftyCallersNeverOversellTenUnits) {
  InventoryHarness replica(schema_.name());
  ASSERT_TRUE(AddProduct("hot", 10).ok());
  constexpr int kCallers = 50;
  std::atomic<int> ok = 0, refused = 0, other = 0;
  std::vector<std::thread> callers;
  for (int i = 0; i < kCallers; ++i) {
    callers.emplace_back([&, i] {
      InventoryHarness& target = i % 2 == 0 ? harness_ : replica;
      v1::ReserveStockRequest request;
      request.set_product_id("hot");
      request.set_reservation_id(absl::StrCat("r-", i));
      request.set_quantity(1);
      v1::ReserveStockResponse response;
      grpc::ClientContext context;
      grpc::Status status =
          target.stub().ReserveStock(&context, request, &response);
      if (status.ok()) {
        ++ok;
      } else if (status.error_code() == grpc::StatusCode::FAILED_PRECONDITION &&
                 ReasonOf(status) == "INSUFFICIENT_STOCK") {
        ++refused;
      } else {
        ++other;
        ADD_FAILURE() << status.error_code() << " " << status.error_message();
      }
    });
  }
  for (std::thread& caller : callers) caller.join();
  EXPECT_EQ(ok.load(), 10);
  EXPECT_EQ(refused.load(), 40);
  EXPECT_EQ(other.load(), 0);

  v1::GetStockResponse stock = Stock("hot");
  EXPECT_EQ(stock.available(), 0);
  EXPECT_EQ(stock.reserved(), 10);
  EXPECT_EQ(stock.on_hand(), 10);
  std::vector<v1::RecordedEvent> history = History("hot");
  EXPECT_THAT(history, SizeIs(11));
  Product replayed = Replay(history);
  EXPECT_EQ(replayed.available(), stock.available());
  EXPECT_EQ(replayed.reserved(), stock.reserved());
  EXPECT_EQ(replayed.on_hand(), stock.on_hand());
  EXPECT_EQ(static_cast<int64_t>(history.size()), stock.version());
}

// A replica's cached state never answers for what another replica changed:
// refusals and repeats are checked against the database.
TEST_F(InventoryServiceTest, ReplicaCachesNeverServeStaleAnswers) {
  InventoryHarness replica(schema_.name());
  ASSERT_TRUE(AddProduct("p", 1).ok());
  v1::ReserveStockResponse reserved;
  ASSERT_TRUE(Reserve("p", "r-1", 1, &reserved).ok());  // cached here

  v1::ReleaseStockRequest release;
  release.set_product_id("p");
  release.set_reservation_id("r-1");
  v1::ReleaseStockResponse released;
  grpc::ClientContext release_context;
  ASSERT_TRUE(
      replica.stub().ReleaseStock(&release_context, release, &released).ok());

  // Here the cache still shows r-1 live and nothing available.
  v1::ReserveStockResponse again;
  grpc::Status repeat = Reserve("p", "r-1", 1, &again);
  EXPECT_EQ(repeat.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(ReasonOf(repeat), "RESERVATION_RELEASED");
  v1::ReserveStockResponse other;
  ASSERT_TRUE(Reserve("p", "r-2", 1, &other).ok());
  EXPECT_EQ(other.available(), 0);
  EXPECT_EQ(Stock("p").reserved(), 1);
}

// An overdue reservation is expired by the sweep and its units return.
TEST_F(InventoryServiceTest, ExpirySweepReturnsOverdueUnits) {
  ASSERT_TRUE(AddProduct("p", 3).ok());
  v1::ReserveStockResponse response;
  ASSERT_TRUE(Reserve("p", "short", 2, &response, 60).ok());
  ASSERT_TRUE(Reserve("p", "long", 1, &response, 600).ok());

  absl::StatusOr<int> none = harness_.app().ExpireDue(100);
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(*none, 0);

  harness_.clock().Advance(absl::Seconds(61));
  absl::StatusOr<int> expired = harness_.app().ExpireDue(100);
  ASSERT_TRUE(expired.ok()) << expired.status();
  EXPECT_EQ(*expired, 1);
  v1::GetStockResponse stock = Stock("p");
  EXPECT_EQ(stock.reserved(), 1);
  EXPECT_EQ(stock.available(), 2);
  EXPECT_EQ(History("p").back().type(), "reservation.expired");
  EXPECT_EQ(Commit("p", "short").error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
}

// Two replicas sweeping at once expire each reservation exactly once.
TEST_F(InventoryServiceTest, TwoReplicasNeverExpireTwice) {
  InventoryHarness replica(schema_.name());
  constexpr int kProducts = 5, kPerProduct = 4;
  for (int p = 0; p < kProducts; ++p) {
    const std::string product = absl::StrCat("p-", p);
    ASSERT_TRUE(AddProduct(product, kPerProduct).ok());
    for (int r = 0; r < kPerProduct; ++r) {
      v1::ReserveStockResponse response;
      ASSERT_TRUE(
          Reserve(product, absl::StrCat("r-", r), 1, &response, 60).ok());
    }
  }
  harness_.clock().Advance(absl::Minutes(2));
  replica.clock().Advance(absl::Minutes(2));
  absl::StatusOr<int> a, b;
  std::thread first([&] { a = harness_.app().ExpireDue(100); });
  std::thread second([&] { b = replica.app().ExpireDue(100); });
  first.join();
  second.join();
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(*a + *b, kProducts * kPerProduct);

  for (int p = 0; p < kProducts; ++p) {
    const std::string product = absl::StrCat("p-", p);
    std::map<std::string, int> expirations;
    for (const v1::RecordedEvent& event : History(product)) {
      if (event.type() == "reservation.expired") {
        absl::StatusOr<Event> parsed =
            FromJson(event.type(), event.data_json());
        ASSERT_TRUE(parsed.ok());
        ++expirations[std::get<v1::ReservationExpired>(*parsed)
                          .reservation_id()];
      }
    }
    EXPECT_THAT(expirations, SizeIs(kPerProduct));
    for (const auto& [id, count] : expirations) EXPECT_EQ(count, 1) << id;
    EXPECT_EQ(Stock(product).available(), kPerProduct);
  }
}

// Events carry who and why from the request headers.
TEST_F(InventoryServiceTest, EventsRecordCallMetadata) {
  v1::AddProductRequest request;
  request.set_product_id("audited");
  request.set_name("Audited");
  request.set_initial_quantity(1);
  v1::AddProductResponse response;
  grpc::ClientContext context;
  context.AddMetadata("x-request-id", "req-42");
  context.AddMetadata("x-caused-by", "user:alice");
  ASSERT_TRUE(harness_.stub().AddProduct(&context, request, &response).ok());
  std::vector<v1::RecordedEvent> history = History("audited");
  ASSERT_THAT(history, SizeIs(1));
  EXPECT_THAT(history[0].metadata_json(),
              HasSubstr("\"requestId\": \"req-42\""));
  EXPECT_THAT(history[0].metadata_json(),
              HasSubstr("\"causedBy\": \"user:alice\""));
  EXPECT_THAT(history[0].data_json(), HasSubstr("\"quantity\": \"1\""));
}

// Health answers SERVING, and reflection lists and describes both the
// inventory and the health service, as grpcurl needs.
TEST_F(InventoryServiceTest, HealthAndReflectionWork) {
  auto health = grpc::health::v1::Health::NewStub(harness_.channel());
  for (const char* name : {"", "inventory.v1.InventoryService"}) {
    grpc::health::v1::HealthCheckRequest request;
    request.set_service(name);
    grpc::health::v1::HealthCheckResponse response;
    grpc::ClientContext context;
    ASSERT_TRUE(health->Check(&context, request, &response).ok());
    EXPECT_EQ(response.status(),
              grpc::health::v1::HealthCheckResponse::SERVING);
  }

  const shop::testing::Reflected reflected =
      shop::testing::AskReflection(harness_.channel(), "grpc.health.v1.Health");
  ASSERT_TRUE(reflected.answered);
  EXPECT_THAT(reflected.services, Contains("inventory.v1.InventoryService"));
  EXPECT_THAT(reflected.services, Contains("grpc.health.v1.Health"));
  EXPECT_EQ(reflected.describe_error, "");
  EXPECT_GT(reflected.files, 0);
}

// With the database unreachable, calls are UNAVAILABLE, readiness says
// NOT_SERVING, and the server keeps answering.
TEST(InventoryUnavailableTest, UnreachableDatabaseIsUnavailable) {
  eventstore::ConnectionPool pool(
      {.dsn = "host=127.0.0.1 port=1 dbname=none", .size = 2});
  eventstore::EventStore events(&pool, "inventory");
  ProductStore store(&events);
  WarehouseStore warehouses(&events);
  Inventory inventory(&store, &warehouses, {});
  ProductHistory product_history(&events);
  StockHistory history(&product_history, &events);
  eventstore::Feed feed(&events, {});
  InventoryServiceImpl service(&inventory, &history, /*reports=*/nullptr,
                               &feed);
  absl::StatusOr<std::unique_ptr<shop::Server>> server = shop::Server::Start(
      {.health_service_name = "inventory.v1.InventoryService",
       .readiness_check = [&pool] { return pool.Ping(); },
       .access_log = false},
      {&service});
  ASSERT_TRUE(server.ok());
  auto channel =
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", (*server)->port()),
                          grpc::InsecureChannelCredentials());
  auto stub = v1::InventoryService::NewStub(channel);
  for (int i = 0; i < 2; ++i) {
    v1::GetStockRequest request;
    request.set_product_id("p");
    v1::GetStockResponse response;
    grpc::ClientContext context;
    EXPECT_EQ(stub->GetStock(&context, request, &response).error_code(),
              grpc::StatusCode::UNAVAILABLE);
  }
  auto health = grpc::health::v1::Health::NewStub(channel);
  grpc::health::v1::HealthCheckRequest request;
  request.set_service("inventory.v1.InventoryService");
  grpc::health::v1::HealthCheckResponse response;
  grpc::ClientContext context;
  ASSERT_TRUE(health->Check(&context, request, &response).ok());
  EXPECT_EQ(response.status(),
            grpc::health::v1::HealthCheckResponse::NOT_SERVING);
}

grpc::health::v1::HealthCheckResponse::ServingStatus Readiness(
    InventoryHarness& harness) {
  auto health = grpc::health::v1::Health::NewStub(harness.channel());
  grpc::health::v1::HealthCheckRequest request;
  request.set_service("inventory.v1.InventoryService");
  grpc::health::v1::HealthCheckResponse response;
  grpc::ClientContext context;
  EXPECT_TRUE(health->Check(&context, request, &response).ok());
  return response.status();
}

// Waits (bounded) until readiness reports `want`.
bool AwaitReadiness(InventoryHarness& harness,
                    grpc::health::v1::HealthCheckResponse::ServingStatus want) {
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (absl::Now() < deadline) {
    if (Readiness(harness) == want) return true;
  }
  return false;
}

// Adds product `id` with `quantity` units through `harness`'s stub.
grpc::Status AddProductThrough(InventoryHarness& harness, const std::string& id,
                               int64_t quantity) {
  v1::AddProductRequest request;
  request.set_product_id(id);
  request.set_name(id);
  request.set_initial_quantity(quantity);
  v1::AddProductResponse response;
  grpc::ClientContext context;
  return harness.stub().AddProduct(&context, request, &response);
}

// The database goes away and comes back: calls are UNAVAILABLE and
// readiness NOT_SERVING meanwhile, then both recover, history intact.
TEST(InventoryOutageTest, ReadinessFollowsTheDatabase) {
  ProxiedDatabase database;
  shop::testing::TcpProxy& proxy = database.proxy();
  TestSchema schema("inv_outage");
  InventoryHarness harness(schema.name(), database.dsn());
  ASSERT_TRUE(AddProductThrough(harness, "p", 2).ok());
  EXPECT_EQ(Readiness(harness), grpc::health::v1::HealthCheckResponse::SERVING);

  proxy.Cut();
  v1::GetStockRequest get;
  get.set_product_id("p");
  v1::GetStockResponse stock;
  grpc::ClientContext down_context;
  EXPECT_EQ(harness.stub().GetStock(&down_context, get, &stock).error_code(),
            grpc::StatusCode::UNAVAILABLE);
  // A write on the product the server holds in memory fails the same way.
  v1::ReserveStockRequest reserve;
  reserve.set_product_id("p");
  reserve.set_quantity(1);
  reserve.set_reservation_id("during-outage");
  v1::ReserveStockResponse reserved;
  grpc::ClientContext reserve_context;
  EXPECT_EQ(harness.stub()
                .ReserveStock(&reserve_context, reserve, &reserved)
                .error_code(),
            grpc::StatusCode::UNAVAILABLE);
  EXPECT_TRUE(AwaitReadiness(
      harness, grpc::health::v1::HealthCheckResponse::NOT_SERVING));

  proxy.Restore();
  EXPECT_TRUE(
      AwaitReadiness(harness, grpc::health::v1::HealthCheckResponse::SERVING));
  grpc::ClientContext up_context;
  grpc::Status back = harness.stub().GetStock(&up_context, get, &stock);
  ASSERT_TRUE(back.ok()) << back.error_message();
  EXPECT_EQ(stock.on_hand(), 2);
  EXPECT_EQ(stock.reserved(), 0);
  EXPECT_EQ(stock.version(), 1);
}

// An append that commits but whose answer is lost with its connection is
// not decided and written again: the caller hears UNAVAILABLE, and the
// units are received once.
TEST(InventoryOutageTest, AnAppendWhoseAnswerIsLostIsNotWrittenTwice) {
  ProxiedDatabase database;
  TestSchema schema("inv_lost_answer");
  // One connection: the append's statement is prepared on it by the
  // first ReceiveStock, so the dropped reply is the append's own.
  InventoryHarness harness(schema.name(), database.dsn(), /*pool_size=*/1);
  auto receive = [&](int64_t quantity) {
    v1::ReceiveStockRequest request;
    request.set_product_id("p");
    request.set_quantity(quantity);
    v1::ReceiveStockResponse response;
    grpc::ClientContext context;
    return harness.stub().ReceiveStock(&context, request, &response);
  };
  ASSERT_TRUE(AddProductThrough(harness, "p", 2).ok());
  ASSERT_TRUE(receive(1).ok());

  database.proxy().DropReplyTo(schema.name() + "_append_exact");
  EXPECT_EQ(receive(5).error_code(), grpc::StatusCode::UNAVAILABLE);

  v1::GetStockRequest get;
  get.set_product_id("p");
  v1::GetStockResponse stock;
  grpc::ClientContext get_context;
  ASSERT_TRUE(harness.stub().GetStock(&get_context, get, &stock).ok());
  EXPECT_EQ(stock.on_hand(), 2 + 1 + 5);
  EXPECT_EQ(stock.version(), 3);
}

}  // namespace
}  // namespace inventory
