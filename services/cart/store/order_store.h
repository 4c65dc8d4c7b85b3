#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/eventstore/event_store.h"
#include "services/cart/domain/order.h"

namespace cart {

// "order-{id}": the stream of one order.
std::string OrderStreamOf(const std::string& order_id);

// The order's events as the event store takes them, each with a new id.
std::vector<eventstore::EventData> OrderEventData(
    const std::vector<OrderEvent>& events,
    const eventstore::Metadata& metadata);

struct LoadedOrder {
  Order order;
  int64_t version = 0;  // 0: no such order
};

// Orders on the cart's event store. An order's stream is short (a few
// transitions and returns), so it is folded whole on each load, with the
// times the events were recorded, and keeps no snapshot.
class OrderStore final {
 public:
  explicit OrderStore(eventstore::EventStore* events) : events_(events) {}

  absl::StatusOr<LoadedOrder> Load(const std::string& order_id);
  // Appends `events` if the order is still at `expected_version`.
  absl::StatusOr<eventstore::AppendResult> Append(
      const std::string& order_id, int64_t expected_version,
      const std::vector<OrderEvent>& events,
      const eventstore::Metadata& metadata);

 private:
  eventstore::EventStore* events_;
};

}  // namespace cart
