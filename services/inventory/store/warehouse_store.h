#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/eventstore/event_store.h"

namespace inventory {

struct WarehouseRecord {
  std::string warehouse_id;
  std::string name;
  absl::Time added_at;
};

// Warehouses on top of the event store: each is a stream `warehouse-{id}`
// whose one event, `warehouse.added`, says who added it and when.
class WarehouseStore final {
 public:
  explicit WarehouseStore(eventstore::EventStore* events) : events_(events) {}

  // ALREADY_EXISTS / WAREHOUSE_EXISTS when the id is taken.
  absl::StatusOr<WarehouseRecord> Add(const std::string& warehouse_id,
                                      const std::string& name,
                                      const eventstore::Metadata& metadata);
  absl::StatusOr<bool> Exists(const std::string& warehouse_id);
  // Warehouses with ids after `after_id`, by id.
  absl::StatusOr<std::vector<WarehouseRecord>> List(const std::string& after_id,
                                                    int max_count);

 private:
  eventstore::EventStore* events_;
};

}  // namespace inventory
