#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/eventstore/event_store.h"
#include "common/eventstore/striped_states.h"
#include "services/cart/domain/cart.h"
#include "services/cart/inventory_client/inventory_client.h"
#include "services/cart/store/cart_store.h"

namespace cart {

using CallContext = eventstore::CommandContext;

struct CartOutcome {
  Cart cart;
  int64_t version = 0;
};

struct AddItemOutcome {
  Cart cart;
  int64_t version = 0;
  Line line;  // the units this call added (or found already added)
  std::optional<absl::Time> reservation_expires_at;
};

struct CartsOptions {
  // How long inventory holds the units of an open cart.
  int64_t reservation_ttl_seconds = 900;
  // Optimistic attempts per command before giving up with ABORTED.
  int max_attempts = 8;
  // Test seam: runs before each append attempt of AddItem.
  std::function<void()> before_add_append = nullptr;
};

// The cart's use cases. AddItem reserves in inventory before it appends,
// and gives the reservation back if the append does not happen.
class Carts final {
 public:
  Carts(CartStore* store, InventoryClient* inventory, CartsOptions options);

  absl::StatusOr<CartOutcome> Create(const std::string& cart_id,
                                     const std::string& customer_id,
                                     const CallContext& context);
  // `request_id` makes retries idempotent; empty means every call is new.
  absl::StatusOr<AddItemOutcome> AddItem(const std::string& cart_id,
                                         const std::string& product_id,
                                         int64_t quantity,
                                         const std::string& request_id,
                                         const CallContext& context);
  absl::StatusOr<CartOutcome> RemoveItem(const std::string& cart_id,
                                         const std::string& product_id,
                                         const CallContext& context);
  absl::StatusOr<CartOutcome> Checkout(const std::string& cart_id,
                                       const CallContext& context);
  absl::StatusOr<LoadedCart> Get(const std::string& cart_id);
  absl::StatusOr<std::vector<eventstore::RecordedEvent>> ListEvents(
      const std::string& cart_id, int64_t from_version, int max_count);

 private:
  using Decider =
      absl::FunctionRef<absl::StatusOr<std::vector<Event>>(const Cart&)>;
  using Lock = eventstore::StripedStates<Cart>::Lock;

  // A cart to decide on: the cached one if any (`from_cache`), else loaded.
  struct Current {
    LoadedCart loaded;
    bool from_cache = false;
  };
  absl::StatusOr<Current> Fetch(Lock& lock, const std::string& cart_id,
                                bool allow_cache);

  // Decide and append; decided again on a concurrent change unless the
  // caller pinned the version. `first` is the cart the caller already
  // fetched. Refusals and no-ops are confirmed on a fresh load.
  absl::StatusOr<CartOutcome> Execute(
      Lock& lock, const std::string& cart_id, const CallContext& context,
      std::optional<Current> first, Decider decide,
      const std::function<void()>& before_append);

  CartStore* store_;
  InventoryClient* inventory_;
  CartsOptions options_;
  eventstore::StripedStates<Cart> carts_;
};

}  // namespace cart
