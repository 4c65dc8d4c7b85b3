#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/btree_map.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/eventstore/event_store.h"
#include "services/inventory/store/product_history.h"
#include "services/inventory/store/product_store.h"

namespace inventory {

// A product's figures per warehouse right after one of its events.
struct StockPoint {
  int64_t version = 0;
  absl::Time recorded_at;
  std::string type;
  absl::btree_map<std::string, WarehouseStock> warehouses;
};

// The forensic reads: a product's stock as of a time, its history with
// filters, and one correlation id's events. Read-only apart from the
// checkpoints it leaves behind.
class StockHistory final {
 public:
  StockHistory(ProductHistory* history, eventstore::EventStore* events)
      : history_(history), events_(events) {}

  // The product after the events recorded at or before `as_of`, with that
  // moment's version. From the latest checkpoint then, plus the events
  // since; a fold over history no checkpoint covers yet (events from
  // before checkpoints, or a fresh stretch) writes the checkpoints it
  // passes, so the next read starts from them. NOT_FOUND when the product
  // did not exist yet.
  absl::StatusOr<LoadedProduct> AsOf(const std::string& product_id,
                                     absl::Time as_of);

  // The product's events that `query` keeps; NOT_FOUND when the product
  // does not exist.
  absl::StatusOr<std::vector<eventstore::RecordedEvent>> ListEvents(
      const std::string& product_id, int64_t from_version,
      const ProductEventQuery& query, int max_count);

  // The figures after each of the product's latest `max_points` events,
  // oldest first (from the as-of fold of the moment before them); NOT_FOUND
  // when the product does not exist.
  absl::StatusOr<std::vector<StockPoint>> Series(const std::string& product_id,
                                                 int max_points);

  // Events with `correlation_id` after `after`, in commit order.
  absl::StatusOr<std::vector<eventstore::RecordedEvent>> ListByCorrelation(
      const std::string& correlation_id, eventstore::GlobalPosition after,
      int max_count);

 private:
  ProductHistory* history_;
  eventstore::EventStore* events_;
};

}  // namespace inventory
