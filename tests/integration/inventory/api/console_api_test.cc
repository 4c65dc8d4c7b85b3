#include "services/inventory/api/console_api.h"

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/metrics/admin_http.h"
#include "common/util/proto_time.h"
#include "gmock/gmock.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "tests/support/http_get.h"
#include "tests/support/movement_calls.h"

namespace inventory {
namespace {

using ::shop::testing::HttpExchange;
using ::shop::testing::HttpStreamReader;
using ::shop::testing::MovementTest;
using ::shop::testing::movements::ReceiveOf;
using ::shop::testing::movements::ReserveOf;
using ::testing::HasSubstr;

// The inventory console's endpoints on a real admin port, over a real
// inventory server and PostgreSQL: each answer is the gRPC call's answer.
class ConsoleApiTest : public MovementTest {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<shop::metrics::AdminHttpServer>> admin =
        shop::metrics::AdminHttpServer::Start(
            "127.0.0.1:0",
            shop::console::ConsoleRoutes(
                {.service = "inventory"},
                ConsoleApi(&harness_.service(), &harness_.history(),
                           &harness_.feed())));
    ASSERT_TRUE(admin.ok()) << admin.status();
    admin_ = *std::move(admin);
  }

  static std::string Request(const std::string& target,
                             const std::string& host = "localhost") {
    return absl::StrCat("GET ", target, " HTTP/1.1\r\nHost: ", host,
                        "\r\n\r\n");
  }
  // The whole answer: status line, headers and body.
  std::string Get(const std::string& target,
                  const std::string& host = "localhost") {
    return HttpExchange(admin_->port(), Request(target, host));
  }
  static std::string BodyOf(const std::string& answer) {
    return answer.substr(answer.find("\r\n\r\n") + 4);
  }
  // The body of a 200 answer parsed as `T`.
  template <typename T>
  T Parse(const std::string& target) {
    const std::string answer = Get(target);
    EXPECT_THAT(answer, HasSubstr("HTTP/1.1 200 OK")) << answer;
    T message;
    EXPECT_TRUE(
        google::protobuf::util::JsonStringToMessage(BodyOf(answer), &message)
            .ok())
        << answer;
    return message;
  }
  template <typename T>
  static void ExpectSame(const T& http, const T& grpc) {
    EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(http, grpc))
        << "HTTP: " << http.DebugString() << "gRPC: " << grpc.DebugString();
  }

  // A product in main and east with four events: added (10 in main),
  // 5 received in east, 3 reserved in main, 2 received in east.
  void Seed(const std::string& product) {
    v1::AddWarehouseRequest east;
    east.set_warehouse_id("east");
    east.set_name("East");
    AddWarehouse(east);
    v1::AddProductRequest added;
    added.set_product_id(product);
    added.set_name("Sneakers <b>bold</b>");
    added.set_price_cents(4999);
    added.set_initial_quantity(10);
    ASSERT_TRUE(AddProduct(added).ok());
    ASSERT_TRUE(ReceiveStock(ReceiveOf(product, "east", 5, "r-1")).ok());
    ASSERT_TRUE(ReserveStock(ReserveOf(product, "res-1", 3, "main")).ok());
    ASSERT_TRUE(ReceiveStock(ReceiveOf(product, "east", 2, "r-2")).ok());
  }

  std::unique_ptr<shop::metrics::AdminHttpServer> admin_;
};

// Figures, history with filters and as-of: the JSON holds exactly what the
// gRPC calls answer.
TEST_F(ConsoleApiTest, ReadsAnswerAsTheirGrpcCalls) {
  Seed("console-a");
  v1::GetStockRequest stock_request;
  stock_request.set_product_id("console-a");
  v1::GetStockResponse stock;
  ASSERT_TRUE(Call(&Stub::GetStock, stock_request, &stock).ok());
  ExpectSame(Parse<v1::GetStockResponse>(
                 "/api/inventory.v1.InventoryService/GetStock?product_id="
                 "console-a"),
             stock);
  EXPECT_EQ(stock.warehouses_size(), 2);

  v1::ListProductEventsRequest history_request;
  history_request.set_product_id("console-a");
  history_request.add_types("stock.received");
  history_request.set_warehouse_id("east");
  history_request.set_direction(v1::READ_DIRECTION_BACKWARD);
  v1::ListProductEventsResponse history;
  ASSERT_TRUE(Call(&Stub::ListProductEvents, history_request, &history).ok());
  ASSERT_EQ(history.events_size(), 2);
  ExpectSame(Parse<v1::ListProductEventsResponse>(
                 "/api/inventory.v1.InventoryService/ListProductEvents?"
                 "product_id=console-a&types=stock.received&warehouse_id=east&"
                 "direction=READ_DIRECTION_BACKWARD"),
             history);

  // Just before the last receipt: 5 in east, not 7.
  const absl::Time last = shop::FromProto(history.events(0).recorded_at());
  v1::GetStockAsOfRequest as_of_request;
  as_of_request.set_product_id("console-a");
  *as_of_request.mutable_as_of() = shop::ToProto(last - absl::Microseconds(1));
  v1::GetStockAsOfResponse as_of;
  ASSERT_TRUE(Call(&Stub::GetStockAsOf, as_of_request, &as_of).ok());
  const v1::GetStockAsOfResponse http_as_of =
      Parse<v1::GetStockAsOfResponse>(absl::StrCat(
          "/api/inventory.v1.InventoryService/GetStockAsOf?"
          "product_id=console-a&as_of=",
          absl::FormatTime("%Y-%m-%d%ET%H:%M:%E*SZ",
                           last - absl::Microseconds(1), absl::UTCTimeZone())));
  ExpectSame(http_as_of, as_of);
  EXPECT_EQ(http_as_of.on_hand(), 15);
}

// The series is the figures after each event; a shorter one starts from
// the fold of everything before it, so its points equal the long one's.
TEST_F(ConsoleApiTest, SeriesFollowsEveryEvent) {
  Seed("console-s");
  google::protobuf::Struct all =
      Parse<google::protobuf::Struct>("/api/stock_series?product_id=console-s");
  const auto& points = all.fields().at("points").list_value().values();
  ASSERT_EQ(points.size(), 4);
  auto figures = [](const google::protobuf::Value& point) {
    std::string out;
    for (const auto& w :
         point.struct_value().fields().at("warehouses").list_value().values()) {
      const auto& f = w.struct_value().fields();
      absl::StrAppend(&out, f.at("warehouseId").string_value(), " ",
                      f.at("onHand").string_value(), "/",
                      f.at("available").string_value(), "; ");
    }
    return out;
  };
  EXPECT_EQ(figures(points[0]), "main 10/10; ");
  EXPECT_EQ(figures(points[1]), "east 5/5; main 10/10; ");
  EXPECT_EQ(figures(points[2]), "east 5/5; main 10/7; ");
  EXPECT_EQ(figures(points[3]), "east 7/7; main 10/7; ");

  google::protobuf::Struct tail = Parse<google::protobuf::Struct>(
      "/api/stock_series?product_id=console-s&max_points=2");
  const auto& last_two = tail.fields().at("points").list_value().values();
  ASSERT_EQ(last_two.size(), 2);
  EXPECT_EQ(last_two[0].struct_value().fields().at("version").string_value(),
            "3");
  EXPECT_EQ(figures(last_two[0]), figures(points[2]));
  EXPECT_EQ(figures(last_two[1]), figures(points[3]));
}

// One correlation id's events, each tagged with the service, and only
// those.
TEST_F(ConsoleApiTest, CorrelationTagsTheService) {
  Seed("console-c");
  grpc::ClientContext context;
  context.AddMetadata("x-correlation-id", "console-corr-1");
  v1::ReceiveStockResponse received;
  ASSERT_TRUE(
      harness_.stub()
          .ReceiveStock(&context, ReceiveOf("console-c", "east", 1), &received)
          .ok());
  google::protobuf::Struct body = Parse<google::protobuf::Struct>(
      "/api/correlation?correlation_id=console-corr-1");
  const auto& events = body.fields().at("events").list_value().values();
  ASSERT_EQ(events.size(), 1);
  const auto& event = events[0].struct_value().fields();
  EXPECT_EQ(event.at("service").string_value(), "inventory");
  EXPECT_EQ(event.at("type").string_value(), "stock.received");
  EXPECT_EQ(event.at("streamId").string_value(), "product-console-c");
}

// Bad input is a 4xx naming the field and changes nothing; a request not
// addressed to a loopback name is refused before any read.
TEST_F(ConsoleApiTest, RefusesBadInputByName) {
  Seed("console-b");
  const std::string unknown =
      Get("/api/inventory.v1.InventoryService/GetStock?product_id=console-b&"
          "sku=1");
  EXPECT_THAT(unknown, HasSubstr("HTTP/1.1 400 "));
  EXPECT_THAT(unknown, HasSubstr("sku is not a field of"));
  const std::string invalid =
      Get("/api/inventory.v1.InventoryService/ListProductEvents?product_id="
          "console-b&max_count=5000");
  EXPECT_THAT(invalid, HasSubstr("HTTP/1.1 400 "));
  EXPECT_THAT(invalid, HasSubstr("max_count"));
  const std::string missing =
      Get("/api/inventory.v1.InventoryService/GetStock?product_id=nope");
  EXPECT_THAT(missing, HasSubstr("HTTP/1.1 404 "));
  EXPECT_THAT(missing, HasSubstr("\"reason\":\"PRODUCT_NOT_FOUND\""));
  EXPECT_THAT(Get("/api/stock_series?product_id=console-b&max_points=0"),
              HasSubstr("max_points must be 1 to 2000"));
  EXPECT_THAT(Get("/api/inventory.v1.InventoryService/GetStock?product_id="
                  "console-b",
                  "shop.example"),
              HasSubstr("HTTP/1.1 403 "));
  // The writes are not on the console at all.
  EXPECT_THAT(Get("/api/inventory.v1.InventoryService/ReceiveStock?product_id="
                  "console-b&quantity=1"),
              HasSubstr("HTTP/1.1 404 "));
  v1::GetStockRequest request;
  request.set_product_id("console-b");
  v1::GetStockResponse stock;
  ASSERT_TRUE(Call(&Stub::GetStock, request, &stock).ok());
  EXPECT_EQ(stock.version(), 4);
}

// The live view: a first message at once (caught up, where it starts),
// then each new event that passes the filter; reconnecting with the last
// id resumes after it, with nothing repeated.
TEST_F(ConsoleApiTest, LiveStreamsAndResumes) {
  Seed("console-l");
  HttpStreamReader live(
      admin_->port(),
      Request(
          "/api/live?stream_prefix=product-console-l&types=stock.received"));
  size_t at = live.WaitFor("\"caughtUp\":true", absl::Seconds(10));
  ASSERT_NE(at, std::string::npos) << live.received();
  EXPECT_THAT(live.received(), HasSubstr("Content-Type: text/event-stream"));
  ASSERT_TRUE(ReserveStock(ReserveOf("console-l", "res-2", 1)).ok());
  ASSERT_TRUE(ReceiveStock(ReceiveOf("console-l", "east", 1, "live-1")).ok());
  at = live.WaitFor("live-1", absl::Seconds(10), at);
  ASSERT_NE(at, std::string::npos) << live.received();
  const std::string seen = live.received();
  EXPECT_THAT(seen, ::testing::Not(HasSubstr("res-2")));
  // The id line of the message that carried live-1.
  const size_t id = seen.rfind("id: ", at);
  const std::string token = seen.substr(id + 4, seen.find('\n', id) - id - 4);

  ASSERT_TRUE(ReceiveStock(ReceiveOf("console-l", "east", 1, "live-2")).ok());
  HttpStreamReader resumed(
      admin_->port(),
      absl::StrCat("GET /api/live?stream_prefix=product-console-l&"
                   "types=stock.received HTTP/1.1\r\nHost: localhost\r\n"
                   "Last-Event-ID: ",
                   token, "\r\n\r\n"));
  ASSERT_NE(resumed.WaitFor("live-2", absl::Seconds(10)), std::string::npos)
      << resumed.received();
  EXPECT_THAT(resumed.received(), ::testing::Not(HasSubstr("live-1")));
}

}  // namespace
}  // namespace inventory
