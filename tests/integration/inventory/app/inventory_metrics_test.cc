// What inventory tells an operator about its reservations: events by type
// as they are appended, and from the database how many products hold
// reservations and how far the expiry sweep is behind.
#include <string>

#include "absl/strings/str_cat.h"
#include "common/metrics/metrics.h"
#include "gtest/gtest.h"
#include "services/inventory/app/inventory.h"
#include "tests/support/inventory_harness.h"
#include "tests/support/metric_value.h"
#include "tests/support/test_database.h"

namespace inventory {
namespace {

using ::shop::testing::InventoryHarness;
using ::shop::testing::MetricValue;
using ::shop::testing::TestSchema;

TEST(InventoryMetricsTest, ReservationsAndTheSweepAreVisible) {
  TestSchema schema("inventory_metrics");
  shop::metrics::Registry registry;
  InventoryHarness harness(schema.name(), shop::testing::TestDsn(), 4,
                           InventoryOptions{.metrics = &registry});
  harness.app().ExportReservationGauges();
  auto value = [&](const std::string& series) {
    return MetricValue(registry.Exposition(), series);
  };
  for (const char* product : {"p", "q"}) {
    ASSERT_TRUE(harness.app()
                    .RunAndWait(product, AddProductCommand{"P", 100, 10}, {})
                    .ok());
  }
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(harness.app()
                    .RunAndWait("p",
                                ReserveStockCommand{1, absl::StrCat("r-", i),
                                                    absl::Minutes(15)},
                                {})
                    .ok());
  }
  // A repeat appends nothing and counts nothing.
  ASSERT_TRUE(
      harness.app()
          .RunAndWait("p", ReserveStockCommand{1, "r-0", absl::Minutes(15)}, {})
          .ok());
  EXPECT_EQ(value("shop_inventory_events_total{type=\"product.added\"}"), 2);
  EXPECT_EQ(value("shop_inventory_events_total{type=\"stock.reserved\"}"), 3);
  EXPECT_EQ(value("shop_inventory_products_reserved"), 1);
  EXPECT_EQ(value("shop_inventory_products_overdue"), 0);
  EXPECT_EQ(value("shop_inventory_expiry_lag_seconds"), 0);

  // Sixteen minutes on, the sweep has not run: one product is a minute
  // overdue.
  harness.clock().Advance(absl::Minutes(16));
  EXPECT_EQ(value("shop_inventory_products_overdue"), 1);
  EXPECT_GE(value("shop_inventory_expiry_lag_seconds"), 59);
  EXPECT_LE(value("shop_inventory_expiry_lag_seconds"), 70);

  absl::StatusOr<int> expired = harness.app().ExpireDue(10);
  ASSERT_TRUE(expired.ok()) << expired.status();
  EXPECT_EQ(*expired, 3);
  EXPECT_EQ(value("shop_inventory_events_total{type=\"reservation.expired\"}"),
            3);
  EXPECT_EQ(value("shop_inventory_products_reserved"), 0);
  EXPECT_EQ(value("shop_inventory_products_overdue"), 0);
  EXPECT_EQ(value("shop_inventory_expiry_lag_seconds"), 0);
}

}  // namespace
}  // namespace inventory
