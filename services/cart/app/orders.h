#pragma once

#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "services/cart/app/carts.h"
#include "services/cart/domain/order.h"
#include "services/cart/inventory_client/inventory_client.h"
#include "services/cart/store/order_store.h"

namespace cart {

// The metadata of an order's events in both services: the order id is
// the correlation id, and the call that caused them is their cause.
eventstore::Metadata OrderMetadata(const eventstore::Metadata& caller,
                                   const std::string& order_id);

// A page of a customer's orders, and where the next page starts (0 at the
// end).
struct OrderPage {
  std::vector<std::pair<std::string, LoadedOrder>> orders;
  int64_t next_before = 0;
};

struct OrdersOptions {
  // Optimistic attempts per step before giving up with ABORTED.
  int max_attempts = 8;
};

// The order's use cases. A transition that moves stock claims the order,
// calls inventory for every product, then records the result; each step
// is idempotent, so a retry after any failure finishes the transition
// without moving a unit twice.
class Orders final {
 public:
  Orders(OrderStore* store, InventoryClient* inventory,
         OrdersOptions options = {});

  absl::StatusOr<LoadedOrder> Get(const std::string& order_id);
  // The customer's orders placed before `before` (0: the newest), newest
  // first; only those in `status` unless it is kNone. A page scans a
  // bounded number of orders, so with a rare status it may come back short
  // with a next page.
  absl::StatusOr<OrderPage> List(const std::string& customer_id,
                                 OrderStatus status, int page_size,
                                 int64_t before);
  absl::StatusOr<LoadedOrder> StartProcessing(const std::string& order_id,
                                              const std::string& request_id,
                                              const CallContext& context);
  absl::StatusOr<LoadedOrder> Ship(const std::string& order_id,
                                   const std::string& shipment_id,
                                   const CallContext& context);
  absl::StatusOr<LoadedOrder> ConfirmDelivery(const std::string& order_id,
                                              const std::string& request_id,
                                              const CallContext& context);
  absl::StatusOr<LoadedOrder> Cancel(const std::string& order_id,
                                     const std::string& reason,
                                     const std::string& request_id,
                                     const CallContext& context);
  absl::StatusOr<LoadedOrder> Return(const std::string& order_id,
                                     const std::string& return_id,
                                     const std::vector<v1::ReturnedLine>& lines,
                                     const CallContext& context);

 private:
  using Decider =
      absl::FunctionRef<absl::StatusOr<std::vector<OrderEvent>>(const Order&)>;
  // Decides on the stored order and appends; decides again after a lost
  // race the caller did not pin. Answers the order afterwards.
  absl::StatusOr<LoadedOrder> Execute(const std::string& order_id,
                                      const CallContext& context,
                                      Decider decide);
  using Finished = absl::FunctionRef<bool(const Order&)>;
  using MoveStock =
      absl::FunctionRef<absl::Status(const Order&, const InventoryCall&)>;
  // A transition that moves stock, in three steps: `claim` the order,
  // `move` its stock in inventory, `finish` (record the end). A claimed
  // order that is `finished` already is a repeat: the answer as it is.
  // Every step is idempotent, so a retry after any failure goes on from
  // where it stopped.
  absl::StatusOr<LoadedOrder> RunTransition(const std::string& order_id,
                                            const CallContext& context,
                                            Decider claim, Finished finished,
                                            MoveStock move, Decider finish);

  OrderStore* store_;
  InventoryClient* inventory_;
  OrdersOptions options_;
};

}  // namespace cart
