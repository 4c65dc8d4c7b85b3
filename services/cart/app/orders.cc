// Owns the order's use cases: each transition's claim, inventory calls and
// record, and the reads.
#include "services/cart/app/orders.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace cart {

eventstore::Metadata OrderMetadata(const eventstore::Metadata& caller,
                                   const std::string& order_id) {
  eventstore::Metadata metadata = caller;
  metadata.correlation_id = order_id;
  if (!caller.request_id.empty()) metadata.causation_id = caller.request_id;
  return metadata;
}

Orders::Orders(OrderStore* store, InventoryClient* inventory,
               OrdersOptions options)
    : store_(store), inventory_(inventory), options_(options) {}

absl::StatusOr<LoadedOrder> Orders::Get(const std::string& order_id) {
  absl::StatusOr<LoadedOrder> loaded = store_->Load(order_id);
  if (loaded.ok() && loaded->version == 0) return OrderNotFound(order_id);
  return loaded;
}

absl::StatusOr<OrderPage> Orders::List(const std::string& customer_id,
                                       OrderStatus status, int page_size,
                                       int64_t before) {
  // Orders a page looks at, whatever the filter keeps.
  const int max_scanned = 10 * page_size;
  OrderPage page;
  int scanned = 0;
  for (;;) {
    absl::StatusOr<std::vector<PlacedOrder>> placed =
        store_->ListPlaced(customer_id, before, page_size);
    if (!placed.ok()) return placed.status();
    for (const PlacedOrder& found : *placed) {
      absl::StatusOr<LoadedOrder> loaded = store_->Load(found.order_id);
      if (!loaded.ok()) return loaded.status();
      before = found.position;
      ++scanned;
      if (status == OrderStatus::kNone || loaded->order.status == status) {
        page.orders.emplace_back(found.order_id, *std::move(loaded));
      }
      if (static_cast<int>(page.orders.size()) == page_size ||
          scanned == max_scanned) {
        // A next page only if there is anything left to look at.
        absl::StatusOr<std::vector<PlacedOrder>> more =
            store_->ListPlaced(customer_id, before, 1);
        if (!more.ok()) return more.status();
        page.next_before = more->empty() ? 0 : before;
        return page;
      }
    }
    if (static_cast<int>(placed->size()) < page_size) return page;
  }
}

absl::StatusOr<LoadedOrder> Orders::Execute(const std::string& order_id,
                                            const CallContext& context,
                                            Decider decide) {
  eventstore::AppendRetry retry(options_.max_attempts);
  absl::Status status;
  do {
    absl::StatusOr<LoadedOrder> loaded = store_->Load(order_id);
    if (!loaded.ok()) return loaded.status();
    if (context.expected_version.has_value() &&
        *context.expected_version != loaded->version) {
      return eventstore::WrongExpectedVersionError(
          OrderStreamOf(order_id),
          eventstore::ExpectedVersion::Exactly(*context.expected_version),
          loaded->version);
    }
    absl::StatusOr<std::vector<OrderEvent>> events = decide(loaded->order);
    if (!events.ok()) return events.status();
    if (events->empty()) return loaded;
    absl::StatusOr<eventstore::AppendResult> appended =
        store_->Append(order_id, loaded->version, *events,
                       OrderMetadata(context.metadata, order_id));
    // Loaded again for the times the events were recorded at.
    if (appended.ok()) return store_->Load(order_id);
    status = appended.status();
  } while (retry.Again(status, context));
  return retry.Answer(status, kErrorDomain, OrderStreamOf(order_id));
}

absl::StatusOr<LoadedOrder> Orders::RunTransition(
    const std::string& order_id, const CallContext& context, Decider claim,
    Finished finished, MoveStock move, Decider finish) {
  absl::StatusOr<LoadedOrder> claimed = Execute(order_id, context, claim);
  if (!claimed.ok() || finished(claimed->order)) return claimed;
  const InventoryCall call{OrderMetadata(context.metadata, order_id),
                           context.deadline};
  if (absl::Status moved = move(claimed->order, call); !moved.ok()) {
    return moved;
  }
  // The claim checked the caller's expected version.
  CallContext finishing = context;
  finishing.expected_version.reset();
  return Execute(order_id, finishing, finish);
}

absl::StatusOr<LoadedOrder> Orders::StartProcessing(
    const std::string& order_id, const std::string& request_id,
    const CallContext& context) {
  return Execute(order_id, context, [&](const Order& order) {
    return DecideStartProcessing(order_id, request_id, order);
  });
}

absl::StatusOr<LoadedOrder> Orders::Ship(const std::string& order_id,
                                         const std::string& shipment_id,
                                         const CallContext& context) {
  return RunTransition(
      order_id, context,
      [&](const Order& order) {
        return DecideStartShipment(order_id, shipment_id, order);
      },
      [](const Order& order) { return order.status == OrderStatus::kShipped; },
      [&](const Order& order, const InventoryCall& call) {
        // Inventory ships once per shipment id: a retry ships nothing twice.
        for (const auto& [product_id, units] : order.Products()) {
          absl::Status shipped = inventory_->Ship(
              product_id, order_id, InventoryShipmentId(order_id, shipment_id),
              units, call);
          if (!shipped.ok()) return shipped;
        }
        return absl::OkStatus();
      },
      [&](const Order& order) {
        return DecideFinishShipment(order_id, order);
      });
}

absl::StatusOr<LoadedOrder> Orders::ConfirmDelivery(
    const std::string& order_id, const std::string& request_id,
    const CallContext& context) {
  return Execute(order_id, context, [&](const Order& order) {
    return DecideConfirmDelivery(order_id, request_id, order);
  });
}

absl::StatusOr<LoadedOrder> Orders::Cancel(const std::string& order_id,
                                           const std::string& reason,
                                           const std::string& request_id,
                                           const CallContext& context) {
  return RunTransition(
      order_id, context,
      [&](const Order& order) {
        return DecideStartCancellation(order_id, reason, request_id, order);
      },
      [](const Order& order) {
        return order.status == OrderStatus::kCancelled;
      },
      [&](const Order& order, const InventoryCall& call) {
        // Giving back what is no longer committed is a no-op in inventory.
        for (const auto& [product_id, units] : order.Products()) {
          absl::Status given_back = inventory_->CancelCommitment(
              product_id, order_id, order.cancel_reason, call);
          if (!given_back.ok()) return given_back;
        }
        return absl::OkStatus();
      },
      [&](const Order& order) {
        return DecideFinishCancellation(order_id, order);
      });
}

absl::StatusOr<LoadedOrder> Orders::Return(
    const std::string& order_id, const std::string& return_id,
    const std::vector<v1::ReturnedLine>& lines, const CallContext& context) {
  return RunTransition(
      order_id, context,
      [&](const Order& order) {
        return DecideStartReturn(order_id, return_id, lines, order);
      },
      [&](const Order& order) {
        const OrderReturn* started = order.FindReturn(return_id);
        return started == nullptr || started->completed;
      },
      [&](const Order& order, const InventoryCall& call) {
        const v1::OrderReturnStarted& started =
            order.FindReturn(return_id)->started;
        for (int i = 0; i < started.lines_size(); ++i) {
          const v1::ReturnedLine& line = started.lines(i);
          absl::Status taken = inventory_->Return(
              line.product_id(), order_id,
              InventoryReturnId(order_id, return_id, static_cast<size_t>(i)),
              line, call);
          if (!taken.ok()) return taken;
        }
        return absl::OkStatus();
      },
      [&](const Order& order) {
        return DecideFinishReturn(order_id, return_id, order);
      });
}

}  // namespace cart
