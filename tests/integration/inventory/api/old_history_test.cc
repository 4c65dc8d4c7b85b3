#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/eventstore/connection_pool.h"
#include "common/eventstore/migrations.h"
#include "common/util/proto_time.h"
#include "gmock/gmock.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "services/inventory/store/product_store.h"
#include "tests/support/inventory_harness.h"
#include "tests/support/movement_calls.h"
#include "tests/support/status_matchers.h"

// History written before warehouses existed, read by today's server: a
// schema as the code of c445a61 left it (the event store's tables and
// inventory's 0100 and 0101), holding events in that code's JSON, is
// migrated by today's server and read as warehouse main, figures unchanged.
namespace inventory {
namespace {

using ::shop::testing::ExecAsAdmin;
using ::shop::testing::InventoryHarness;
using ::shop::testing::IsOk;
using ::shop::testing::StatusIs;
using ::shop::testing::TestDsn;
using ::shop::testing::TestSchema;
using ::shop::testing::movements::DescribeStock;
using ::shop::testing::movements::ExpectedStock;
using ::shop::testing::movements::Figures;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kFarFuture[] = "2099-01-01T00:00:00Z";

struct OldEvent {
  std::string type;
  std::string data;  // as the old codec wrote it
  Figures after;     // main's figures once it is folded
};

// Events as c445a61 wrote them (protobuf's JSON mapping with every field
// printed, int64 as strings): no warehouse, no lines, no order; its commit
// took the units off hand at once.
std::vector<OldEvent> OldHistory() {
  auto reserved = [](int quantity, const std::string& id,
                     const std::string& expires_at) {
    return absl::StrCat(R"({"quantity":")", quantity, R"(","reservationId":")",
                        id, R"(","expiresAt":")", expires_at, R"("})");
  };
  auto ended = [](int quantity, const std::string& id) {
    return absl::StrCat(R"({"quantity":")", quantity, R"(","reservationId":")",
                        id, R"("})");
  };
  return {
      {"product.added",
       R"({"name":"Sneakers","priceCents":"4999","quantity":"10"})",
       {.on_hand = 10, .available = 10}},
      {"stock.received",
       R"({"quantity":"5","reference":"po-1"})",
       {.on_hand = 15, .available = 15}},
      {"stock.reserved",
       reserved(3, "r-1", kFarFuture),
       {.on_hand = 15, .reserved = 3, .available = 12}},
      {"stock.committed", ended(3, "r-1"), {.on_hand = 12, .available = 12}},
      {"stock.reserved",
       reserved(2, "r-2", kFarFuture),
       {.on_hand = 12, .reserved = 2, .available = 10}},
      {"stock.reserved",
       reserved(1, "r-3", kFarFuture),
       {.on_hand = 12, .reserved = 3, .available = 9}},
      {"stock.released",
       ended(1, "r-3"),
       {.on_hand = 12, .reserved = 2, .available = 10}},
      {"stock.reserved",
       reserved(1, "r-4", "2026-01-01T00:00:00Z"),
       {.on_hand = 12, .reserved = 3, .available = 9}},
      {"reservation.expired",
       ended(1, "r-4"),
       {.on_hand = 12, .reserved = 2, .available = 10}},
  };
}

// The old code's snapshot after version 5: on hand and reservations only.
constexpr char kOldSnapshot[] =
    R"({"name":"Sneakers","priceCents":"4999","onHand":"12",)"
    R"("reservations":{"r-2":{"quantity":"2","expiresAt":"2099-01-01T00:00:00Z"}}})";

// Whether two JSON texts hold the same value (jsonb reorders keys).
bool SameJson(const std::string& a, const std::string& b) {
  google::protobuf::Struct x, y;
  if (!google::protobuf::util::JsonStringToMessage(a, &x).ok() ||
      !google::protobuf::util::JsonStringToMessage(b, &y).ok()) {
    return false;
  }
  return google::protobuf::util::MessageDifferencer::Equals(x, y);
}

class OldHistoryTest : public ::testing::Test {
 protected:
  // Builds the old schema and stores product `id`'s old history in it,
  // one event a minute from an hour ago, with the old snapshot if asked.
  void WriteOldProduct(const std::string& id, bool with_snapshot) {
    const std::string& s = schema_.name();
    const std::vector<OldEvent> history = OldHistory();
    std::string sql = absl::StrCat(
        "INSERT INTO ", s,
        ".streams (stream_id, version, snapshot, snapshot_version, due_at) "
        "VALUES ('product-",
        id, "', ", history.size(), ", ",
        with_snapshot ? absl::StrCat("'", kOldSnapshot, "'") : "NULL", ", ",
        with_snapshot ? 5 : 0, ", '", kFarFuture, "');\n");
    for (size_t i = 0; i < history.size(); ++i) {
      absl::StrAppend(
          &sql, "INSERT INTO ", s,
          ".events (stream_id, version, event_id, type, data, metadata, "
          "recorded_at) VALUES ('product-",
          id, "', ", i + 1, ", gen_random_uuid(), '", history[i].type, "', '",
          history[i].data, "', '{\"correlationId\":\"old-", id,
          "\"}', now() - interval '1 hour' + interval '", i, " minutes');\n");
    }
    ExecAsAdmin(sql);
  }

  void MigrateAsTheOldCode() {
    eventstore::ConnectionPool pool({.dsn = TestDsn(), .size = 1});
    std::vector<eventstore::Migration> today = ProductStore::Migrations();
    std::vector<eventstore::Migration> old(today.begin(), today.begin() + 2);
    ASSERT_EQ(old[0].id, "0100_reservation_history");
    ASSERT_EQ(old[1].id, "0101_reservation_once");
    ASSERT_THAT(eventstore::Migrate(pool, schema_.name(), old), IsOk());
  }

  v1::GetStockResponse Stock(const std::string& id) {
    v1::GetStockRequest request;
    request.set_product_id(id);
    v1::GetStockResponse response;
    grpc::ClientContext context;
    EXPECT_THAT(server_->stub().GetStock(&context, request, &response), IsOk());
    return response;
  }

  std::vector<v1::RecordedEvent> Events(v1::ListProductEventsRequest request) {
    v1::ListProductEventsResponse response;
    grpc::ClientContext context;
    EXPECT_THAT(server_->stub().ListProductEvents(&context, request, &response),
                IsOk());
    return {response.events().begin(), response.events().end()};
  }

  static std::vector<int64_t> Versions(
      const std::vector<v1::RecordedEvent>& events) {
    std::vector<int64_t> versions;
    for (const v1::RecordedEvent& e : events) versions.push_back(e.version());
    return versions;
  }

  TestSchema schema_{"old_history"};
  std::optional<InventoryHarness> server_;
};

// GetStock, ListProductEvents and GetStockAsOf of today's server read old
// history (with and without the old snapshot) as warehouse main, with the
// figures the old code had, the stored JSON untouched; and new commands
// carry on from it.
TEST_F(OldHistoryTest, OldEventsReadAsMainWithFiguresUnchanged) {
  MigrateAsTheOldCode();
  WriteOldProduct("old-1", /*with_snapshot=*/true);
  WriteOldProduct("old-2", /*with_snapshot=*/false);
  server_.emplace(schema_.name());
  const std::vector<OldEvent> history = OldHistory();
  const std::string now_figures =
      ExpectedStock({{"main", history.back().after}});

  for (const char* id : {"old-1", "old-2"}) {
    SCOPED_TRACE(id);
    const v1::GetStockResponse stock = Stock(id);
    EXPECT_EQ(DescribeStock(stock), now_figures);
    EXPECT_EQ(stock.version(), 9);
    EXPECT_EQ(stock.name(), "Sneakers");
    EXPECT_EQ(stock.price_cents(), 4999);

    v1::ListProductEventsRequest request;
    request.set_product_id(id);
    const std::vector<v1::RecordedEvent> events = Events(request);
    ASSERT_EQ(events.size(), history.size());
    for (size_t i = 0; i < events.size(); ++i) {
      EXPECT_EQ(events[i].version(), static_cast<int64_t>(i + 1));
      EXPECT_EQ(events[i].type(), history[i].type);
      EXPECT_TRUE(SameJson(events[i].data_json(), history[i].data))
          << events[i].data_json() << " vs " << history[i].data;
      EXPECT_THAT(events[i].data_json(), Not(HasSubstr("warehouse")));

      // As of half a minute after each event: the figures then.
      v1::GetStockAsOfRequest as_of;
      as_of.set_product_id(id);
      *as_of.mutable_as_of() = shop::ToProto(
          shop::FromProto(events[i].recorded_at()) + absl::Seconds(30));
      v1::GetStockAsOfResponse then;
      grpc::ClientContext context;
      ASSERT_THAT(server_->stub().GetStockAsOf(&context, as_of, &then), IsOk());
      EXPECT_EQ(then.version(), static_cast<int64_t>(i + 1));
      EXPECT_EQ(DescribeStock(then),
                ExpectedStock({{"main", history[i].after}}))
          << "as of version " << i + 1;
    }

    // Every old event is main's, none another warehouse's.
    request.set_warehouse_id("main");
    EXPECT_THAT(Versions(Events(request)),
                ElementsAre(1, 2, 3, 4, 5, 6, 7, 8, 9));
    request.set_warehouse_id("east");
    EXPECT_THAT(Versions(Events(request)), ElementsAre());
    request.clear_warehouse_id();
    request.add_types("stock.committed");
    EXPECT_THAT(Versions(Events(request)), ElementsAre(4));
  }

  // Today's commands carry on from the old state, in main: the old live
  // reservation is sold to an order and shipped; an old ended id stays
  // ended.
  grpc::ClientContext commit_context;
  v1::CommitReservationResponse committed;
  ASSERT_THAT(server_->stub().CommitReservation(
                  &commit_context,
                  ::shop::testing::movements::CommitOf("old-1", "r-2", "o-1"),
                  &committed),
              IsOk());
  EXPECT_EQ(committed.committed_quantity(), 2);
  ASSERT_EQ(committed.lines_size(), 1);
  EXPECT_EQ(committed.lines(0).warehouse_id(), "main");
  grpc::ClientContext ship_context;
  v1::ShipStockResponse shipped;
  ASSERT_THAT(server_->stub().ShipStock(
                  &ship_context,
                  ::shop::testing::movements::ShipOf("old-1", "o-1", "s-1", 2),
                  &shipped),
              IsOk());
  EXPECT_EQ(DescribeStock(Stock("old-1")),
            ExpectedStock({{"main", {.on_hand = 10, .available = 10}}}));
  grpc::ClientContext reuse_context;
  v1::ReserveStockResponse reserved;
  EXPECT_THAT(
      server_->stub().ReserveStock(
          &reuse_context,
          ::shop::testing::movements::ReserveOf("old-1", "r-1", 3), &reserved),
      StatusIs(absl::StatusCode::kFailedPrecondition, "RESERVATION_COMMITTED"));
}

}  // namespace
}  // namespace inventory
