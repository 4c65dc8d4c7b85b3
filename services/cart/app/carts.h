#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/eventstore/event_store.h"
#include "common/metrics/metrics.h"
#include "common/turns/turn_queue.h"
#include "common/util/work_queue.h"
#include "services/cart/app/reservation_fate.h"
#include "services/cart/domain/cart.h"
#include "services/cart/inventory_client/inventory_client.h"
#include "services/cart/store/cart_store.h"

namespace cart {

// A command's identity, pinned version, and the caller's deadline, which
// bounds the calls to inventory it causes and its own appends.
using CallContext = eventstore::CommandContext;

// What inventory is told about the call it serves.
InventoryCall InventoryCallOf(const CallContext& context);

struct CartOutcome {
  Cart cart;
  int64_t version = 0;
  // Of the append that wrote the call's last events (none for a repeat).
  std::optional<eventstore::GlobalPosition> position;
};

struct AddItemOutcome {
  Cart cart;
  int64_t version = 0;
  Line line;  // the units this call added (or found already added)
  std::optional<absl::Time> reservation_expires_at;
  std::optional<eventstore::GlobalPosition> position;  // as in CartOutcome
};

using AddItemDone = absl::AnyInvocable<void(absl::StatusOr<AddItemOutcome>) &&>;

struct CartsOptions {
  // How long inventory holds the units of an open cart.
  int64_t reservation_ttl_seconds = 900;
  // Optimistic attempts per command before giving up with ABORTED.
  int max_attempts = 8;
  // Threads for the steps that wait for the database.
  int workers = 16;
  // Test seam: runs before each append attempt of AddItem.
  std::function<void()> before_add_append = nullptr;
  shop::metrics::Registry* metrics = &shop::metrics::Default();
};

// What the cart counts of its reservations' fates and its checkouts.
struct CartCounters {
  explicit CartCounters(shop::metrics::Registry& registry);
  // Reservations given back because the step after them failed, by
  // whether inventory took them back or they wait for their expiry.
  shop::metrics::Counter* compensated;
  shop::metrics::Counter* compensation_failed;
  // Reservations of removed or reduced lines that could not be given back.
  shop::metrics::Counter* release_failed;
  // Reservations kept because the step's outcome is unknown.
  shop::metrics::Counter* kept_unconfirmed;
  shop::metrics::Counter* checkouts_completed;
  shop::metrics::Counter* checkouts_stopped;
  shop::metrics::Counter* checkouts_unfinished;
};

// The cart's use cases. AddItem reserves in inventory before it appends,
// and gives the reservation back if the append does not happen.
//
// A cart's commands take turns. AddItem holds no thread while it waits for
// inventory and for its append: on a cart in memory it runs from callbacks,
// and whatever must wait for the database runs on a worker. The other
// commands wait for their turn and work on the caller's thread.
class Carts final {
 public:
  Carts(CartStore* store, InventoryClient* inventory, CartsOptions options);
  // Waits for the commands in progress.
  ~Carts();

  absl::StatusOr<CartOutcome> Create(const std::string& cart_id,
                                     const std::string& customer_id,
                                     const CallContext& context);
  // `request_id` makes retries idempotent; empty means every call is new.
  // An empty `warehouse_id` lets inventory choose where the units are held.
  // `done` runs on a thread of the service, gRPC or the event store.
  void AddItem(std::string cart_id, std::string product_id, int64_t quantity,
               std::string warehouse_id, const std::string& request_id,
               CallContext context, AddItemDone done);
  absl::StatusOr<CartOutcome> RemoveItem(const std::string& cart_id,
                                         const std::string& product_id,
                                         const CallContext& context);
  // Sets the product's units in the cart: raising reserves only the extra
  // units first, lowering shows fewer and then releases only the surplus,
  // 0 removes the product. `request_id` as for AddItem.
  absl::StatusOr<CartOutcome> UpdateItemQuantity(const std::string& cart_id,
                                                 const std::string& product_id,
                                                 int64_t quantity,
                                                 const std::string& request_id,
                                                 const CallContext& context);
  absl::StatusOr<CartOutcome> Checkout(const std::string& cart_id,
                                       const CallContext& context);
  absl::StatusOr<LoadedCart> Get(const std::string& cart_id);
  absl::StatusOr<std::vector<eventstore::RecordedEvent>> ListEvents(
      const std::string& cart_id, int64_t from_version, int max_count);

 private:
  using Decider =
      absl::FunctionRef<absl::StatusOr<std::vector<Event>>(const Cart&)>;
  using Cached = shop::TurnQueue<Cart>::Versioned;
  struct Waiter;
  class AddItemFlow;
  class HeldTurn;

  // What a command's turn holds: the cart the cache had, taken by the first
  // Fetch, and the cart to cache when the turn ends.
  struct TurnState {
    std::optional<Cached> cached;
    std::optional<Cached> after;
  };

  // A cart to decide on: the cached one if any (`from_cache`), else loaded.
  struct Current {
    LoadedCart loaded;
    bool from_cache = false;
  };
  absl::StatusOr<Current> Fetch(TurnState& turn, const std::string& cart_id,
                                bool allow_cache);

  // Decide and append; decided again on a concurrent change unless the
  // caller pinned the version. `first` is the cart the caller already
  // fetched. Refusals and no-ops are confirmed on a fresh load.
  // With `order_id`, the order a checkout places is appended with the
  // cart's events, from the cart they were decided on.
  absl::StatusOr<CartOutcome> Execute(
      TurnState& turn, const std::string& cart_id, const CallContext& context,
      std::optional<Current> first, Decider decide,
      const std::function<void()>& before_append,
      const std::string* order_id = nullptr);

  // Queues `waiter` for its cart's turn, and starts it if the cart is free.
  void Submit(const std::string& cart_id, Waiter* waiter);
  // Passes a cart's turn on, caching `after`.
  void EndTurn(const std::string& cart_id, std::optional<Cached> after);
  // Carries out the fate of a reservation after a step (see
  // reservation_fate.h); kReleaseIfGone is the caller's to resolve first.
  void Settle(Fate fate, const std::string& product_id,
              const std::string& reservation_id, const CallContext& context,
              const absl::Status& cause);
  // Gives a reservation back to inventory; one it cannot reach keeps it
  // until it expires. False in that case.
  bool ReleaseOrLeave(const std::string& product_id,
                      const std::string& reservation_id,
                      const CallContext& context);
  // Reserves in inventory and waits for the answer.
  absl::StatusOr<inventory::v1::ReserveStockResponse> ReserveAndWait(
      const std::string& product_id, int64_t quantity,
      const std::string& reservation_id, const CallContext& context);
  // Asks inventory again for the partial releases of `line`; idempotent.
  absl::Status Rerelease(const Line& line, const CallContext& context);

  // AddItem's steps (add_item.cc); each takes the flow and passes it on.
  void StartAddItem(std::unique_ptr<AddItemFlow> flow);
  void CheckAddItem(std::unique_ptr<AddItemFlow> flow);
  void Reserve(std::unique_ptr<AddItemFlow> flow);
  void AppendItem(std::unique_ptr<AddItemFlow> flow);
  void AppendItemWaiting(std::unique_ptr<AddItemFlow> flow);
  void FinishAddItem(std::unique_ptr<AddItemFlow> flow,
                     absl::StatusOr<AddItemOutcome> result);

  // Checkout's concurrent commits to `order_id`: the answer for each
  // line, in order.
  std::vector<absl::Status> CommitLines(const std::vector<Line>& lines,
                                        const std::string& order_id,
                                        const CallContext& context);

  CartStore* store_;
  InventoryClient* inventory_;
  CartsOptions options_;
  CartCounters counters_;
  shop::TurnQueue<Cart> carts_;
  shop::WorkQueue workers_;
};

}  // namespace cart
