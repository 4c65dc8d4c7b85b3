#include "services/inventory/store/stock_levels.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/eventstore/connection_pool.h"
#include "common/eventstore/migrations.h"
#include "gtest/gtest.h"
#include "pqxx/pqxx"
#include "services/inventory/domain/events.h"
#include "services/inventory/store/product_store.h"
#include "tests/support/test_database.h"

namespace inventory {
namespace {

using ::shop::testing::TestDsn;
using ::shop::testing::TestSchema;

// Two instances of the model on one schema play the leaders before and
// after a handover; each keeps the states it folded last.
class StockLevelsTest : public ::testing::Test {
 protected:
  StockLevelsTest() {
    EXPECT_TRUE(
        eventstore::Migrate(pool_, schema_.name(), ProductStore::Migrations())
            .ok());
  }

  static eventstore::RecordedEvent Received(int64_t version, int64_t quantity) {
    v1::StockReceived received;
    received.set_quantity(quantity);
    received.set_receipt_id(absl::StrCat("receipt-", version));
    return {.stream_id = "product-p",
            .version = version,
            .type = "stock.received",
            .data_json = ToJson(Event(received)),
            .recorded_at = absl::Now()};
  }

  // Applies `events` with `model` in one transaction, committed or not.
  absl::Status Apply(StockLevels& model,
                     std::vector<eventstore::RecordedEvent> events,
                     bool commit = true) {
    pqxx::connection connection(TestDsn());
    pqxx::work tx(connection);
    absl::Status applied = model.Apply(tx, events);
    if (applied.ok() && commit) tx.commit();
    return applied;
  }

  int64_t OnHand(StockLevels& model) {
    absl::StatusOr<StockPage> page = model.List({});
    EXPECT_TRUE(page.ok()) << page.status();
    return page.ok() && page->rows.size() == 1 ? page->rows[0].stock.on_hand
                                               : -1;
  }

  TestSchema schema_{"stock_levels"};
  eventstore::ConnectionPool pool_{{.dsn = TestDsn(), .size = 2}};
  eventstore::EventStore events_{&pool_, schema_.name()};
};

// A leader folds on the state it wrote only while the table still holds
// that version: after another leader moved the product on, or after its
// own page rolled back, it reads the state again.
TEST_F(StockLevelsTest, FoldsOnItsCacheOnlyAtTheStoredVersion) {
  v1::ProductAdded added;
  added.set_name("p");
  added.set_quantity(10);
  StockLevels first(&events_);
  StockLevels second(&events_);
  ASSERT_TRUE(Apply(first, {{.stream_id = "product-p",
                             .version = 1,
                             .type = "product.added",
                             .data_json = ToJson(Event(added)),
                             .recorded_at = absl::Now()},
                            Received(2, 5)})
                  .ok());
  // The other replica leads for a while.
  ASSERT_TRUE(Apply(second, {Received(3, 7)}).ok());
  // Back to the first: its cached version 2 is not the table's 3.
  absl::Status back = Apply(first, {Received(4, 1)});
  ASSERT_TRUE(back.ok()) << back;
  EXPECT_EQ(OnHand(first), 23);

  // A page that rolls back leaves the table at version 4.
  ASSERT_TRUE(Apply(first, {Received(5, 100)}, /*commit=*/false).ok());
  absl::Status again = Apply(first, {Received(5, 2)});
  ASSERT_TRUE(again.ok()) << again;
  EXPECT_EQ(OnHand(first), 25);
}

}  // namespace
}  // namespace inventory
