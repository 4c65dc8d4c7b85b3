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
#include "common/turns/turn_queue.h"
#include "common/util/work_queue.h"
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
  // Threads for the commands that must wait for the database on their way
  // (a product not in memory, a conflict, a refusal to confirm).
  int workers = 16;
  std::function<absl::Time()> clock = [] { return absl::Now(); };
};

// Receives a command's answer.
using Done = absl::AnyInvocable<void(absl::StatusOr<Outcome>) &&>;

// The inventory's use cases: load, decide, append, retry on conflict.
//
// A command does not hold a thread while it waits: it joins its product's
// queue, and the commands queued on one product are decided together on the
// state the last write left and appended without waiting; `done` runs when
// the append has been answered, on a thread of the inventory or of the
// event store. The overloads without `done` wait for it.
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
    return products_.Queued(product_id);
  }

  // One pass of the expiry sweep: expires what is overdue on up to
  // `max_products` products and returns how many reservations it expired.
  absl::StatusOr<int> ExpireDue(int max_products);

 private:
  // Decides a command on a product's state. `reused` is set once a unique
  // index refused the events because their reservation id was used before.
  using Decider = absl::AnyInvocable<absl::StatusOr<std::vector<Event>>(
      const Product& product, bool reused)>;
  struct Command;
  using Cached = shop::TurnQueue<Product>::Versioned;
  using Turn = shop::TurnQueue<Product>::Turn<Command>;

  // Queues a command behind the others on its product. `reservation_id`
  // names the reservation the outcome reports, if any; `reads_history`
  // says that deciding may look it up in the database when it is not live.
  void Execute(std::string product_id, CallContext context,
               std::string reservation_id, Decider decide, Done done,
               bool reads_history = false);
  // Runs one turn of a product's queue: decided on the cached state and
  // appended without waiting when it can, else on a worker.
  void Run(std::string product_id, Turn turn);
  // Runs `batch` on a worker thread, waiting for the database as needed.
  void RunOnWorker(std::string product_id, std::vector<Command*> batch,
                   std::optional<Cached> cached);
  // Ends a turn with `after` cached and runs the commands queued meanwhile.
  void Continue(const std::string& product_id, std::optional<Cached> after);
  // Load (or take the cached state), decide each command of `batch` in
  // order, append all their events at once; decide again on a concurrent
  // change. Returns the state to cache.
  std::optional<Cached> RunBatch(const std::string& product_id,
                                 std::optional<Cached> cached,
                                 const std::vector<Command*>& batch);
  // Decides the commands of `batch` in order on `state` (which they evolve)
  // until the events would outgrow one append, or, unless `may_block`, a
  // command would read history; returns their events and how many commands
  // it decided.
  std::pair<std::vector<eventstore::EventData>, size_t> DecideInOrder(
      const std::string& product_id, Cached& state,
      const std::vector<Command*>& batch, bool may_block);
  // Executes a command about `reservation_id` whose rule also needs how the
  // reservation ended, if it is no longer live.
  using PastDecider = absl::AnyInvocable<absl::StatusOr<std::vector<Event>>(
      const Product& product, PastReservation past)>;
  void ExecuteOnPast(const std::string& product_id,
                     const std::string& reservation_id, CallContext context,
                     PastDecider decide, Done done);
  // The past of `reservation_id` when it is not live on `product`.
  absl::StatusOr<PastReservation> PastOf(const std::string& product_id,
                                         const std::string& reservation_id,
                                         const Product& product);
  ProductStore* store_;
  InventoryOptions options_;
  // A write decided on a cached product skips the load.
  shop::TurnQueue<Product> products_;
  shop::WorkQueue workers_;
};

}  // namespace inventory
