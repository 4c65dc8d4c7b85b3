#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/eventstore/event_store.h"
#include "common/eventstore/striped_states.h"
#include "services/inventory/domain/product.h"
#include "services/inventory/store/product_store.h"

namespace inventory {

using CallContext = eventstore::CommandContext;

// A command's result: the product's figures after it, and what it appended.
struct Outcome {
  int64_t version = 0;
  std::vector<Event> events;  // empty when the command was a repeat
  int64_t price_cents = 0;
  int64_t on_hand = 0;
  int64_t available = 0;
  // The reservation the command named, when it is live afterwards.
  std::optional<Reservation> reservation;
};

struct InventoryOptions {
  absl::Duration default_ttl = absl::Minutes(15);
  // Optimistic attempts per command before giving up with ABORTED.
  int max_attempts = 8;
  std::function<absl::Time()> clock = [] { return absl::Now(); };
};

// The inventory's use cases: load, decide, append, retry on conflict.
class Inventory final {
 public:
  Inventory(ProductStore* store, InventoryOptions options);

  absl::StatusOr<Outcome> AddProduct(const std::string& product_id,
                                     const inventory::AddProduct& command,
                                     const CallContext& context);
  absl::StatusOr<Outcome> ReceiveStock(const std::string& product_id,
                                       const inventory::ReceiveStock& command,
                                       const CallContext& context);
  // A zero ttl means the configured default.
  absl::StatusOr<Outcome> ReserveStock(const std::string& product_id,
                                       inventory::ReserveStock command,
                                       const CallContext& context);
  absl::StatusOr<Outcome> ReleaseStock(const std::string& product_id,
                                       const std::string& reservation_id,
                                       const CallContext& context);
  absl::StatusOr<Outcome> CommitReservation(const std::string& product_id,
                                            const std::string& reservation_id,
                                            const CallContext& context);
  absl::StatusOr<LoadedProduct> GetStock(const std::string& product_id);
  absl::StatusOr<std::vector<eventstore::RecordedEvent>> ListEvents(
      const std::string& product_id, int64_t from_version, int max_count);

  // Commands waiting for their product's write in flight (for tests).
  size_t Queued(const std::string& product_id) {
    return products_.Queued(product_id);
  }

  // One pass of the expiry sweep: expires what is overdue on up to
  // `max_products` products and returns how many reservations it expired.
  absl::StatusOr<int> ExpireDue(int max_products);

 private:
  using Decider =
      absl::FunctionRef<absl::StatusOr<std::vector<Event>>(const Product&)>;
  using Cached = eventstore::StripedStates<Product>::Versioned;
  struct Command;

  // Queues the command behind others on the same product; commands that
  // pile up meanwhile are decided together and written in one append.
  // `reservation_id` names the reservation the outcome reports, if any.
  // `on_unique_violation` runs when a unique index of the schema refused the
  // command's events, before it is decided again.
  absl::StatusOr<Outcome> Execute(
      const std::string& product_id, const CallContext& context,
      const std::string& reservation_id, Decider decide,
      absl::FunctionRef<void()> on_unique_violation = [] {});
  // Load (or take the cached state), decide each command of `batch` in
  // order, append all their events at once; decide again on a concurrent
  // change. Returns the state to cache.
  std::optional<Cached> RunBatch(const std::string& product_id,
                                 std::optional<Cached> cached,
                                 const std::vector<Command*>& batch);
  // The past of `reservation_id` when it is not live on `product`.
  absl::StatusOr<PastReservation> PastOf(const std::string& product_id,
                                         const std::string& reservation_id,
                                         const Product& product);
  ProductStore* store_;
  InventoryOptions options_;
  // A write decided on a cached product skips the load.
  eventstore::StripedStates<Product> products_;
};

}  // namespace inventory
