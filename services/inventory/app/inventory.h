#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/eventstore/event_store.h"
#include "common/util/work_queue.h"
#include "services/inventory/app/command.h"
#include "services/inventory/app/product_turns.h"
#include "services/inventory/domain/product.h"
#include "services/inventory/store/product_store.h"

namespace inventory {

struct InventoryOptions {
  absl::Duration default_ttl = absl::Minutes(15);
  // Optimistic attempts per command before giving up with ABORTED.
  int max_attempts = 8;
  // Threads for the commands that must wait for the database on their way
  // (a product not in memory, a conflict, a refusal to confirm).
  int workers = 16;
  std::function<absl::Time()> clock = [] { return absl::Now(); };
};

// The inventory's use cases. Each write is a command (a pure decision and
// what it needs loaded) run by its product's turn (ProductTurns); `done`
// runs when the append has been answered, on a thread of the inventory or
// of the event store. The overloads without `done` wait for it.
class Inventory final {
 public:
  Inventory(ProductStore* store, InventoryOptions options);
  // Waits for the commands in progress.
  ~Inventory();

  void AddProduct(const std::string& product_id, inventory::AddProduct command,
                  CallContext context, Done done);
  void ReceiveStock(const std::string& product_id,
                    inventory::ReceiveStock command, CallContext context,
                    Done done);
  // A zero ttl means the configured default.
  void ReserveStock(const std::string& product_id,
                    inventory::ReserveStock command, CallContext context,
                    Done done);
  void ReleaseStock(const std::string& product_id,
                    const std::string& reservation_id, CallContext context,
                    Done done);
  void CommitReservation(const std::string& product_id,
                         const std::string& reservation_id, CallContext context,
                         Done done);

  absl::StatusOr<Outcome> AddProduct(const std::string& product_id,
                                     const inventory::AddProduct& command,
                                     const CallContext& context);
  absl::StatusOr<Outcome> ReserveStock(const std::string& product_id,
                                       const inventory::ReserveStock& command,
                                       const CallContext& context);
  absl::StatusOr<Outcome> ReleaseStock(const std::string& product_id,
                                       const std::string& reservation_id,
                                       const CallContext& context);

  absl::StatusOr<LoadedProduct> GetStock(const std::string& product_id);
  absl::StatusOr<std::vector<eventstore::RecordedEvent>> ListEvents(
      const std::string& product_id, int64_t from_version, int max_count);

  // Commands waiting for their product's write in flight (for tests).
  size_t Queued(const std::string& product_id) {
    return turns_.Queued(product_id);
  }

  // One pass of the expiry sweep: expires what is overdue on up to
  // `max_products` products and returns how many reservations it expired.
  absl::StatusOr<int> ExpireDue(int max_products);

 private:
  // Queues a command about `reservation_id` (if any); `needs_past` says
  // that deciding needs how the reservation ended when it is not live.
  void Execute(const std::string& product_id, CallContext context,
               std::string reservation_id, bool needs_past, DecideFn decide,
               Done done);

  ProductStore* store_;
  InventoryOptions options_;
  // Declared before the turns, which use them until they are destroyed.
  shop::WorkQueue workers_;
  ProductTurns turns_;
};

}  // namespace inventory
