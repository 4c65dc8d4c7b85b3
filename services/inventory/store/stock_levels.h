#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "common/eventstore/event_store.h"
#include "common/eventstore/fold_cache.h"
#include "common/eventstore/migrations.h"
#include "common/eventstore/projection.h"
#include "common/eventstore/projection_rebuild.h"
#include "services/inventory/domain/product.h"

namespace inventory {

inline constexpr char kStockLevelsProjection[] = "stock_levels";

// One product's figures in one warehouse, as the read model holds them.
struct StockLevelRow {
  std::string product_id;
  std::string warehouse_id;
  std::string name;  // the product's
  WarehouseStock stock;
  int64_t version = 0;    // of the product's stream
  absl::Time updated_at;  // when its last event was recorded
};

struct StockQuery {
  std::string warehouse_id;  // empty: every warehouse
  // Only rows with at most this many available (the low-stock report).
  int64_t max_available = INT64_MAX;
  // Rows after this (product, warehouse), in that order.
  std::string after_product_id;
  std::string after_warehouse_id;
  int max_count = 100;
};

struct StockPage {
  std::vector<StockLevelRow> rows;
  // The projection's checkpoint the rows reflect.
  eventstore::GlobalPosition position;
};

// The read model `stock_levels`: one row per (product, warehouse) with
// every figure. Products are folded with the domain's own Evolve, from a
// per-product state kept beside the rows (stock_level_states), so the rows
// equal what GetStock answers once the projection has caught up.
class StockLevels final : public eventstore::ProjectionModel {
 public:
  // The rows live in RowsSchemaOf(*events, rows_schema).
  explicit StockLevels(eventstore::EventStore* events,
                       std::string rows_schema = "")
      : events_(events),
        rows_schema_(
            eventstore::RowsSchemaOf(*events, std::move(rows_schema))) {}

  static std::vector<eventstore::Migration> Migrations();
  // What `projections rebuild stock_levels` needs.
  static eventstore::RebuildableModel Rebuildable(
      eventstore::EventStore* events);

  absl::Status Apply(
      pqxx::work& tx,
      absl::Span<const eventstore::RecordedEvent> events) override;

  absl::StatusOr<StockPage> List(const StockQuery& query);

 private:
  eventstore::EventStore* const events_;
  const std::string rows_schema_;
  eventstore::FoldCache<Product> cache_;
};

}  // namespace inventory
