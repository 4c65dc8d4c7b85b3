#pragma once

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/eventstore/event_store.h"
#include "common/eventstore/feed.h"
#include "common/eventstore/projection.h"
#include "services/inventory/store/stock_levels.h"

namespace inventory {

// The stock reports: keeps the read model stock_levels from the feed (on
// whichever replica leads its projection) and answers its queries, on
// every replica, from the rows.
class StockReports final {
 public:
  StockReports(StockLevels* levels, eventstore::EventStore* events,
               eventstore::Feed* feed, eventstore::ProjectionOptions options)
      : levels_(levels),
        events_(events),
        projection_(kStockLevelsProjection, levels, events, feed,
                    std::move(options)) {}

  void Start() { projection_.Start(); }
  void Stop() { projection_.Stop(); }

  // Once the model has applied `min`, when one is given.
  absl::StatusOr<StockPage> List(const StockQuery& query,
                                 const eventstore::MinPosition& min = {}) {
    if (min.position.has_value()) {
      absl::Status applied = eventstore::AwaitProjection(
          events_->pool(), events_->schema(), projection_.name(), *min.position,
          min.deadline);
      if (!applied.ok()) return applied;
    }
    return levels_->List(query);
  }
  const eventstore::Projection& projection() const { return projection_; }

 private:
  StockLevels* const levels_;
  eventstore::EventStore* const events_;
  eventstore::Projection projection_;
};

}  // namespace inventory
