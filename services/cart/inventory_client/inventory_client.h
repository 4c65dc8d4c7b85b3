#pragma once

#include <optional>
#include <string>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "cart/v1/order_events.pb.h"
#include "common/eventstore/event_store.h"
#include "inventory/v1/inventory.pb.h"

namespace cart {

// Who asks inventory, and until when the caller waits for the answer.
struct InventoryCall {
  eventstore::Metadata metadata;
  // The caller's deadline; none means only the client's own bound applies.
  std::optional<absl::Time> deadline;
};

// The cart's view of inventory.v1.InventoryService, at the process edge so
// the cart's logic runs against a fake in tests. Errors keep inventory's
// code and reason; inventory not answering within the client's own bound is
// UNAVAILABLE, the caller's deadline passing first is DEADLINE_EXCEEDED.
class InventoryClient {
 public:
  using ReserveDone = absl::AnyInvocable<
      void(absl::StatusOr<inventory::v1::ReserveStockResponse>) &&>;
  using CommitDone = absl::AnyInvocable<void(absl::Status) &&>;

  virtual ~InventoryClient() = default;

  // Without waiting: `done` runs on another thread and must not block.
  // An empty `warehouse_id` lets inventory choose where the units are held.
  virtual void Reserve(const std::string& product_id, int64_t quantity,
                       const std::string& reservation_id, int64_t ttl_seconds,
                       const std::string& warehouse_id,
                       const InventoryCall& call, ReserveDone done) = 0;
  // Releases `quantity` units under `release_id`, or all (quantity 0).
  virtual absl::Status Release(const std::string& product_id,
                               const std::string& reservation_id,
                               int64_t quantity, const std::string& release_id,
                               const InventoryCall& call) = 0;
  // Without waiting, so that a checkout commits its lines concurrently;
  // the units stay committed to `order_id` until they ship.
  virtual void Commit(const std::string& product_id,
                      const std::string& reservation_id,
                      const std::string& order_id, const InventoryCall& call,
                      CommitDone done) = 0;

  // An order's movements, each idempotent by its id in inventory. Ships
  // `quantity` committed units of the product under `shipment_id`.
  virtual absl::Status Ship(const std::string& product_id,
                            const std::string& order_id,
                            const std::string& shipment_id, int64_t quantity,
                            const InventoryCall& call) = 0;
  // Gives the order's unshipped units of the product back to available.
  virtual absl::Status CancelCommitment(const std::string& product_id,
                                        const std::string& order_id,
                                        const std::string& reason,
                                        const InventoryCall& call) = 0;
  // Takes shipped units of the order back under `return_id`.
  virtual absl::Status Return(const std::string& product_id,
                              const std::string& order_id,
                              const std::string& return_id,
                              const v1::ReturnedLine& line,
                              const InventoryCall& call) = 0;
};

}  // namespace cart
