#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/eventstore/event_store.h"
#include "services/cart/domain/cart.h"

namespace cart {

// "cart-{id}": the stream of one cart.
std::string StreamOf(const std::string& cart_id);

struct LoadedCart {
  Cart cart;
  int64_t version = 0;  // 0: the cart does not exist
};

// Carts on top of the event store, with the folded cart as snapshot.
class CartStore final {
 public:
  explicit CartStore(eventstore::EventStore* events) : events_(events) {}

  absl::StatusOr<LoadedCart> Load(const std::string& cart_id);
  // Appends `events` if the cart is still at `expected_version`.
  absl::StatusOr<eventstore::AppendResult> Append(
      const std::string& cart_id, int64_t expected_version,
      const std::vector<Event>& events, const Cart& after,
      const eventstore::Metadata& metadata);
  // Append without waiting for it.
  void AppendAsync(const std::string& cart_id, int64_t expected_version,
                   const std::vector<Event>& events, const Cart& after,
                   const eventstore::Metadata& metadata,
                   eventstore::AppendCallback done);
  absl::StatusOr<std::vector<eventstore::RecordedEvent>> ReadEvents(
      const std::string& cart_id, int64_t from_version, int max_count);

 private:
  eventstore::EventStore* events_;
};

}  // namespace cart
