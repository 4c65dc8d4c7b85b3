#include "services/inventory/app/stock_history.h"

#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/eventstore/connection_pool.h"
#include "common/eventstore/event_store.h"
#include "common/eventstore/migrations.h"
#include "common/util/proto_time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/inventory/store/product_history.h"
#include "services/inventory/store/product_store.h"
#include "tests/support/status_matchers.h"
#include "tests/support/test_database.h"

namespace inventory {
namespace {

using ::shop::testing::StatusIs;
using ::shop::testing::TestDsn;
using ::shop::testing::TestSchema;

// The i-th event of a busy product: receipts in two warehouses,
// reservations split over them, and releases of half of them.
Event NthEvent(int i) {
  if (i == 0) {
    v1::ProductAdded added;
    added.set_name("Sneakers");
    added.set_price_cents(4999);
    added.set_quantity(100);
    return added;
  }
  const std::string warehouse = i % 2 == 0 ? "main" : "east";
  switch (i % 3) {
    case 0: {
      v1::StockReceived received;
      received.set_quantity(5);
      received.set_warehouse_id(warehouse);
      return received;
    }
    case 1: {
      v1::StockReserved reserved;
      reserved.set_reservation_id(absl::StrCat("r-", i));
      reserved.set_quantity(2);
      *reserved.mutable_expires_at() =
          shop::ToProto(absl::FromUnixSeconds(2'000'000'000));
      v1::WarehouseQuantity* line = reserved.add_lines();
      line->set_warehouse_id(warehouse);
      line->set_quantity(2);
      return reserved;
    }
    default: {
      // Releases the reservation of the previous event, in its warehouse.
      v1::StockReleased released;
      released.set_reservation_id(absl::StrCat("r-", i - 1));
      released.set_quantity(2);
      v1::WarehouseQuantity* line = released.add_lines();
      line->set_warehouse_id((i - 1) % 2 == 0 ? "main" : "east");
      line->set_quantity(2);
      return released;
    }
  }
}

// Every figure and every holding of a product, in a stable order (the
// snapshot's JSON orders its maps as it likes).
std::string Describe(const Product& product) {
  std::string out = absl::StrCat(product.exists, " ", product.name, " ",
                                 product.price_cents, "\n");
  for (const auto& [id, stock] : product.warehouses()) {
    absl::StrAppend(&out, "warehouse ", id, ": ", stock.on_hand, " ",
                    stock.reserved, " ", stock.committed, " ", stock.incoming,
                    " ", stock.damaged, " ", stock.available(), " ",
                    stock.shortfall(), "\n");
  }
  for (const auto& [id, reservation] : product.reservations()) {
    absl::StrAppend(&out, "reservation ", id, ": ", reservation.quantity, " ",
                    absl::FormatTime(reservation.expires_at));
    for (const Line& line : reservation.lines) {
      absl::StrAppend(&out, " ", line.warehouse_id, "=", line.quantity);
    }
    absl::StrAppend(&out, "\n");
  }
  for (const auto& [id, order] : product.orders()) {
    absl::StrAppend(&out, "order ", id, ": ", order.shipped, " ",
                    order.returned, " ", order.cancelled);
    for (const auto& [warehouse, quantity] : order.committed) {
      absl::StrAppend(&out, " ", warehouse, "=", quantity);
    }
    absl::StrAppend(&out, "\n");
  }
  for (const auto& [id, transfer] : product.transfers()) {
    absl::StrAppend(&out, "transfer ", id, ": ", transfer.from_warehouse_id,
                    " ", transfer.to_warehouse_id, " ", transfer.quantity,
                    "\n");
  }
  return out;
}

// The migrations of a schema from before checkpoints (up to 0109).
std::vector<eventstore::Migration> MigrationsBeforeCheckpoints() {
  std::vector<eventstore::Migration> before;
  for (const eventstore::Migration& migration : ProductStore::Migrations()) {
    if (migration.id < "0110") before.push_back(migration);
  }
  return before;
}

class StockHistoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    pool_ = std::make_unique<eventstore::ConnectionPool>(
        eventstore::PoolOptions{.dsn = TestDsn(), .size = 4});
    events_ =
        std::make_unique<eventstore::EventStore>(pool_.get(), schema_.name());
    product_history_ = std::make_unique<ProductHistory>(events_.get());
    history_ =
        std::make_unique<StockHistory>(product_history_.get(), events_.get());
  }

  void Migrate(const std::vector<eventstore::Migration>& migrations) {
    absl::Status migrated =
        eventstore::Migrate(*pool_, schema_.name(), migrations);
    ASSERT_TRUE(migrated.ok()) << migrated;
  }

  // Appends events [from, to) one append each, so each has its own time.
  void AppendEvents(int from, int to) {
    for (int i = from; i < to; ++i) {
      absl::StatusOr<eventstore::AppendResult> appended =
          events_->Append(StreamOf("p"), eventstore::ExpectedVersion::Any(),
                          EventDataOf({NthEvent(i)}, {}));
      ASSERT_TRUE(appended.ok()) << appended.status();
    }
  }

  int64_t Checkpoints() {
    absl::StatusOr<int64_t> count = product_history_->CountCheckpoints("p");
    EXPECT_TRUE(count.ok()) << count.status();
    return count.ok() ? *count : -1;
  }

  std::vector<eventstore::RecordedEvent> All() {
    std::vector<eventstore::RecordedEvent> all;
    while (true) {
      absl::StatusOr<std::vector<eventstore::RecordedEvent>> page =
          events_->ReadStreamForward(
              StreamOf("p"), static_cast<int64_t>(all.size()) + 1, 1000);
      EXPECT_TRUE(page.ok()) << page.status();
      if (!page.ok() || page->empty()) return all;
      all.insert(all.end(), page->begin(), page->end());
    }
  }

  // The product after the first `version` events, folded from the start.
  static Product FoldTo(const std::vector<eventstore::RecordedEvent>& all,
                        int64_t version) {
    Product product;
    for (int64_t v = 0; v < version; ++v) {
      absl::StatusOr<Event> event = FromJson(all[v].type, all[v].data_json);
      EXPECT_TRUE(event.ok()) << event.status();
      product = Evolve(std::move(product), *event);
    }
    return product;
  }

  // AsOf at the time of each version in `versions`, and just before the
  // next one, equals the fold from the start.
  void ExpectAsOfIsTheFold(const std::vector<eventstore::RecordedEvent>& all,
                           const std::vector<int64_t>& versions) {
    for (int64_t version : versions) {
      const absl::Time at = all[version - 1].recorded_at;
      std::vector<absl::Time> instants = {at};
      if (version < static_cast<int64_t>(all.size())) {
        instants.push_back(all[version].recorded_at - absl::Microseconds(1));
      }
      for (absl::Time instant : instants) {
        absl::StatusOr<LoadedProduct> as_of = history_->AsOf("p", instant);
        ASSERT_TRUE(as_of.ok()) << as_of.status();
        EXPECT_EQ(as_of->version, version);
        EXPECT_EQ(Describe(as_of->product), Describe(FoldTo(all, version)))
            << "as of version " << version;
      }
    }
  }

  TestSchema schema_{"inventory_history"};
  std::unique_ptr<eventstore::ConnectionPool> pool_;
  std::unique_ptr<eventstore::EventStore> events_;
  std::unique_ptr<ProductHistory> product_history_;
  std::unique_ptr<StockHistory> history_;
};

// The stock at several instants equals the fold of the events up to then,
// and the first reads leave a checkpoint every kCheckpointEvery versions.
TEST_F(StockHistoryTest, AsOfEqualsTheFoldAndLeavesCheckpoints) {
  Migrate(ProductStore::Migrations());
  const int kEvents = 2 * kCheckpointEvery + 90;
  AppendEvents(0, kEvents);
  std::vector<eventstore::RecordedEvent> all = All();
  ASSERT_EQ(all.size(), static_cast<size_t>(kEvents));
  for (size_t i = 1; i < all.size(); ++i) {
    ASSERT_LT(all[i - 1].recorded_at, all[i].recorded_at);
  }
  EXPECT_EQ(Checkpoints(), 0);

  const std::vector<int64_t> versions = {1,
                                         2,
                                         100,
                                         kCheckpointEvery - 1,
                                         kCheckpointEvery,
                                         kCheckpointEvery + 1,
                                         2 * kCheckpointEvery + 7,
                                         kEvents};
  ExpectAsOfIsTheFold(all, versions);
  EXPECT_EQ(Checkpoints(), kEvents / kCheckpointEvery);
  // Read again, now from the checkpoints.
  ExpectAsOfIsTheFold(all, versions);
}

// A read as of a time starts from the latest checkpoint then: a checkpoint
// that says otherwise than the events shows through.
TEST_F(StockHistoryTest, AsOfStartsFromTheLatestCheckpoint) {
  Migrate(ProductStore::Migrations());
  AppendEvents(0, kCheckpointEvery + 10);
  std::vector<eventstore::RecordedEvent> all = All();
  Product marked = FoldTo(all, kCheckpointEvery);
  marked.name = "from the checkpoint";
  ASSERT_TRUE(product_history_
                  ->WriteCheckpoints(
                      "p", {{kCheckpointEvery,
                             all[kCheckpointEvery - 1].recorded_at, marked}})
                  .ok());

  absl::StatusOr<LoadedProduct> after = history_->AsOf("p", absl::Now());
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_EQ(after->product.name, "from the checkpoint");
  EXPECT_EQ(after->version, kCheckpointEvery + 10);
  absl::StatusOr<LoadedProduct> before =
      history_->AsOf("p", all[kCheckpointEvery - 2].recorded_at);
  ASSERT_TRUE(before.ok()) << before.status();
  EXPECT_EQ(before->product.name, "Sneakers");
  EXPECT_EQ(before->version, kCheckpointEvery - 1);
}

// Events written before the checkpoints table existed are folded, and the
// first read checkpoints them; the product before its first event is
// NOT_FOUND.
TEST_F(StockHistoryTest, HistoryFromBeforeCheckpointsIsFoldedAndCheckpointed) {
  Migrate(MigrationsBeforeCheckpoints());
  AppendEvents(0, kCheckpointEvery + 30);
  Migrate(ProductStore::Migrations());
  AppendEvents(kCheckpointEvery + 30, kCheckpointEvery + 40);
  std::vector<eventstore::RecordedEvent> all = All();

  ExpectAsOfIsTheFold(all, {kCheckpointEvery + 20, kCheckpointEvery + 40});
  EXPECT_EQ(Checkpoints(), 1);
  EXPECT_THAT(history_->AsOf("p", all[0].recorded_at - absl::Seconds(1)),
              StatusIs(absl::StatusCode::kNotFound, "PRODUCT_NOT_FOUND"));
  EXPECT_THAT(history_->AsOf("nothing", absl::Now()),
              StatusIs(absl::StatusCode::kNotFound, "PRODUCT_NOT_FOUND"));
}

// Appends through the product store leave checkpoints themselves (0112),
// with no read to fold first; reads from them still equal the fold.
TEST_F(StockHistoryTest, AppendsLeaveCheckpoints) {
  Migrate(ProductStore::Migrations());
  ProductStore store(events_.get());
  Product product;
  int64_t snapshot_version = 0;
  const int kEvents = 3 * kCheckpointEvery + 5;
  for (int i = 0; i < kEvents; ++i) {
    const Event event = NthEvent(i);
    product = Evolve(std::move(product), event);
    absl::StatusOr<eventstore::AppendResult> appended =
        store.Append("p", i, EventDataOf({event}, {}), product,
                     &snapshot_version, absl::InfiniteFuture());
    ASSERT_TRUE(appended.ok()) << appended.status();
  }
  EXPECT_EQ(Checkpoints(), 3);
  std::vector<eventstore::RecordedEvent> all = All();
  ExpectAsOfIsTheFold(
      all, {kCheckpointEvery + 3, 2 * kCheckpointEvery + 1, kEvents});
}

}  // namespace
}  // namespace inventory
