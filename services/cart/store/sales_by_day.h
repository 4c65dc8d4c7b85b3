#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/civil_time.h"
#include "absl/types/span.h"
#include "common/eventstore/event_store.h"
#include "common/eventstore/migrations.h"
#include "common/eventstore/projection.h"
#include "common/eventstore/projection_rebuild.h"

namespace cart {

inline constexpr char kSalesByDayProjection[] = "sales_by_day";

struct DaySales {
  absl::CivilDay day;
  int64_t total_cents = 0;
  int64_t orders = 0;
};

struct SalesReport {
  std::vector<DaySales> days;           // every day of the range, in order
  eventstore::GlobalPosition position;  // the projection's checkpoint
};

// The read model `sales_by_day`: each placed order's total, summed in
// quarter-hour buckets of UTC. Every offset in use is a whole number of
// quarter hours, so any time zone's days are unions of buckets.
class SalesByDay final : public eventstore::ProjectionModel {
 public:
  // The rows live in RowsSchemaOf(*events, rows_schema).
  explicit SalesByDay(eventstore::EventStore* events,
                      std::string rows_schema = "")
      : events_(events),
        rows_schema_(
            eventstore::RowsSchemaOf(*events, std::move(rows_schema))) {}
  // What `projections rebuild sales_by_day` needs.
  static eventstore::RebuildableModel Rebuildable(
      eventstore::EventStore* events);

  static std::vector<eventstore::Migration> Migrations();

  absl::Status Apply(
      pqxx::work& tx,
      absl::Span<const eventstore::RecordedEvent> events) override;

  // Days `from` to `to` (inclusive) in IANA zone `time_zone`, which the
  // caller has checked.
  absl::StatusOr<SalesReport> Report(absl::CivilDay from, absl::CivilDay to,
                                     const std::string& time_zone);

 private:
  eventstore::EventStore* const events_;
  const std::string rows_schema_;
};

}  // namespace cart
