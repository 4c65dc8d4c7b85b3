#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/eventstore/event_store.h"

namespace cart {

// The cart service's forensic read: every event of its schema (carts and
// orders) that one correlation id caused.
class CartHistory final {
 public:
  explicit CartHistory(eventstore::EventStore* events) : events_(events) {}

  // Events with `correlation_id` after `after`, in commit order.
  absl::StatusOr<std::vector<eventstore::RecordedEvent>> ListByCorrelation(
      const std::string& correlation_id, eventstore::GlobalPosition after,
      int max_count);

 private:
  eventstore::EventStore* events_;
};

}  // namespace cart
