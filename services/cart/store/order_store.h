#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/eventstore/event_store.h"
#include "common/eventstore/migrations.h"
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
  // Of its last event.
  eventstore::GlobalPosition position;
};

// A placed order found by its customer, and where its order.placed is.
struct PlacedOrder {
  std::string order_id;
  int64_t position = 0;
};

// Orders' streams, as the order use cases need them.
class OrderStore {
 public:
  virtual ~OrderStore() = default;

  virtual absl::StatusOr<LoadedOrder> Load(const std::string& order_id) = 0;
  // Appends `events` if the order is still at `expected_version`.
  virtual absl::StatusOr<eventstore::AppendResult> Append(
      const std::string& order_id, int64_t expected_version,
      const std::vector<OrderEvent>& events,
      const eventstore::Metadata& metadata) = 0;
  // The customer's orders placed before `before` (all when 0), newest
  // first, at most `max_count`.
  virtual absl::StatusOr<std::vector<PlacedOrder>> ListPlaced(
      const std::string& customer_id, int64_t before, int max_count) = 0;
};

// Orders on the cart's event store. An order's stream is short (a few
// transitions and returns), so it is folded whole on each load, with the
// times the events were recorded, and keeps no snapshot.
class EventOrderStore final : public OrderStore {
 public:
  explicit EventOrderStore(eventstore::EventStore* events) : events_(events) {}

  // The cart schema's own: the index that finds a customer's orders,
  // and the tables of the read models customer_carts and sales_by_day.
  static std::vector<eventstore::Migration> Migrations();

  absl::StatusOr<LoadedOrder> Load(const std::string& order_id) override;
  absl::StatusOr<eventstore::AppendResult> Append(
      const std::string& order_id, int64_t expected_version,
      const std::vector<OrderEvent>& events,
      const eventstore::Metadata& metadata) override;
  // Through the index orders_by_customer.
  absl::StatusOr<std::vector<PlacedOrder>> ListPlaced(
      const std::string& customer_id, int64_t before, int max_count) override;

 private:
  eventstore::EventStore* events_;
};

}  // namespace cart
