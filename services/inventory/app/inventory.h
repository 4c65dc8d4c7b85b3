#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/eventstore/event_store.h"
#include "common/metrics/metrics.h"
#include "common/util/work_queue.h"
#include "services/inventory/app/command.h"
#include "services/inventory/app/product_turns.h"
#include "services/inventory/app/warehouses.h"
#include "services/inventory/domain/commands.h"
#include "services/inventory/store/product_store.h"
#include "services/inventory/store/warehouse_store.h"

namespace inventory {

struct InventoryOptions {
  absl::Duration default_ttl = absl::Minutes(15);
  // Optimistic attempts per command before giving up with ABORTED.
  int max_attempts = 8;
  // Threads for the commands that must wait for the database on their way
  // (a product not in memory, a conflict, a refusal to confirm, a
  // warehouse not seen before).
  int workers = 16;
  std::function<absl::Time()> clock = [] { return absl::Now(); };
  shop::metrics::Registry* metrics = &shop::metrics::Default();
};

// The warehouses a command names besides main (which always exists).
template <typename C>
std::vector<std::string> WarehousesNamed(const C& command) {
  std::vector<std::string> named;
  auto add = [&](const std::string& id) {
    if (!id.empty() && id != kMainWarehouse) named.push_back(id);
  };
  if constexpr (requires { command.warehouse_id; }) add(command.warehouse_id);
  if constexpr (requires { command.from_warehouse_id; }) {
    add(command.from_warehouse_id);
    add(command.to_warehouse_id);
  }
  return named;
}

// The reservation whose state an outcome reports, if the command has one.
template <typename C>
std::string ReservationOf(const C& command) {
  if constexpr (requires { command.reservation_id; }) {
    return command.reservation_id;
  } else {
    return "";
  }
}

// The inventory's use cases. Each write is a command (a pure decision and
// what it needs loaded, see domain/commands.h) run by its product's turn
// (ProductTurns); `done` runs when the append has been answered, on a
// thread of the inventory or of the event store.
class Inventory final {
 public:
  Inventory(ProductStore* store, WarehouseStore* warehouses,
            InventoryOptions options);
  // Waits for the commands in progress.
  ~Inventory();

  // Runs `command` on its product once the warehouses it names are known
  // to exist (NOT_FOUND / WAREHOUSE_NOT_FOUND otherwise).
  template <typename C>
  void Run(const std::string& product_id, C command, CallContext context,
           Done done) {
    if constexpr (std::is_same_v<C, ReserveStockCommand>) {
      if (command.ttl <= absl::ZeroDuration()) {
        command.ttl = options_.default_ttl;
      }
    }
    std::vector<std::string> named = WarehousesNamed(command);
    HistoryNeed history = HistoryNeedOf(command);
    std::string reservation_id = ReservationOf(command);
    auto command_ptr = std::make_unique<Command>(
        std::move(context), std::move(history), std::move(reservation_id),
        [product_id, command = std::move(command)](const Product& product,
                                                   const Facts& facts) {
          return Decide(product_id, command, product, facts);
        },
        std::move(done));
    Submit(product_id, std::move(named), std::move(command_ptr));
  }
  // Run, waiting for the answer.
  template <typename C>
  absl::StatusOr<Outcome> RunAndWait(const std::string& product_id, C command,
                                     const CallContext& context) {
    return Await([&](Done done) {
      Run(product_id, std::move(command), context, std::move(done));
    });
  }

  absl::StatusOr<WarehouseRecord> AddWarehouse(const std::string& warehouse_id,
                                               const std::string& name,
                                               const CallContext& context);
  absl::StatusOr<std::vector<WarehouseRecord>> ListWarehouses(
      const std::string& after_id, int max_count);

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

  // Adds to the registry, on each scrape, how many products hold live
  // reservations and how far expiry is behind (from the database, so
  // every replica reports the same).
  void ExportReservationGauges();

 private:
  // Queues `command` behind its product's others, after checking `named`.
  void Submit(const std::string& product_id, std::vector<std::string> named,
              std::unique_ptr<Command> command);
  static absl::StatusOr<Outcome> Await(absl::FunctionRef<void(Done)> start);

  ProductStore* store_;
  WarehouseStore* warehouse_store_;
  InventoryOptions options_;
  shop::metrics::Counter* sweeps_failed_;
  KnownWarehouses warehouses_;
  // Declared before the turns, which use them until they are destroyed.
  shop::WorkQueue workers_;
  ProductTurns turns_;
};

}  // namespace inventory
