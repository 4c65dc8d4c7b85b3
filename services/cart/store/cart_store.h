#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/eventstore/event_store.h"
#include "services/cart/domain/cart.h"
#include "services/cart/domain/order.h"

namespace cart {

// "cart-{id}": the stream of one cart.
std::string StreamOf(const std::string& cart_id);

struct LoadedCart {
  Cart cart;
  int64_t version = 0;  // 0: the cart does not exist
};

// Where the cart's streams live: an interface, so the app's flows run
// against a fake in unit tests.
class CartStore {
 public:
  virtual ~CartStore() = default;

  virtual absl::StatusOr<LoadedCart> Load(const std::string& cart_id) = 0;
  // Appends `events` if the cart is still at `expected_version`, and not
  // at all once `deadline` has passed (APPEND_DEADLINE_PASSED).
  virtual absl::StatusOr<eventstore::AppendResult> Append(
      const std::string& cart_id, int64_t expected_version,
      const std::vector<Event>& events, const Cart& after,
      const eventstore::Metadata& metadata, absl::Time deadline) = 0;
  // Append without waiting for it.
  virtual void AppendAsync(const std::string& cart_id, int64_t expected_version,
                           const std::vector<Event>& events, const Cart& after,
                           const eventstore::Metadata& metadata,
                           absl::Time deadline,
                           eventstore::AppendCallback done) = 0;
  virtual absl::StatusOr<std::vector<eventstore::RecordedEvent>> ReadEvents(
      const std::string& cart_id, int64_t from_version, int max_count) = 0;
  // Appends the cart's closing `events` and the new order's `placed` in
  // one transaction: a checked-out cart always has its order, and an
  // order its checked-out cart.
  virtual absl::StatusOr<eventstore::AppendResult> AppendCheckout(
      const std::string& cart_id, int64_t expected_version,
      const std::vector<Event>& events, const Cart& after,
      const eventstore::Metadata& metadata, const std::string& order_id,
      const v1::OrderPlaced& placed,
      const eventstore::Metadata& order_metadata) = 0;
};

// Carts on top of the event store, with the folded cart as snapshot.
class EventCartStore final : public CartStore {
 public:
  explicit EventCartStore(eventstore::EventStore* events) : events_(events) {}

  absl::StatusOr<LoadedCart> Load(const std::string& cart_id) override;
  absl::StatusOr<eventstore::AppendResult> Append(
      const std::string& cart_id, int64_t expected_version,
      const std::vector<Event>& events, const Cart& after,
      const eventstore::Metadata& metadata, absl::Time deadline) override;
  void AppendAsync(const std::string& cart_id, int64_t expected_version,
                   const std::vector<Event>& events, const Cart& after,
                   const eventstore::Metadata& metadata, absl::Time deadline,
                   eventstore::AppendCallback done) override;
  absl::StatusOr<std::vector<eventstore::RecordedEvent>> ReadEvents(
      const std::string& cart_id, int64_t from_version, int max_count) override;
  absl::StatusOr<eventstore::AppendResult> AppendCheckout(
      const std::string& cart_id, int64_t expected_version,
      const std::vector<Event>& events, const Cart& after,
      const eventstore::Metadata& metadata, const std::string& order_id,
      const v1::OrderPlaced& placed,
      const eventstore::Metadata& order_metadata) override;

 private:
  eventstore::EventStore* events_;
};

}  // namespace cart
