// Owns the inventory's use cases: which command each call is, and the
// reads and the expiry sweep beside them.
#include "services/inventory/app/inventory.h"

#include <algorithm>
#include <memory>
#include <string>
#include <utility>

#include "absl/functional/function_ref.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "common/errors/errors.h"
#include "common/logging/log.h"
#include "services/inventory/domain/domain_errors.h"

namespace inventory {

absl::StatusOr<Outcome> Inventory::Await(absl::FunctionRef<void(Done)> start) {
  absl::Notification answered;
  absl::StatusOr<Outcome> outcome;
  start([&](absl::StatusOr<Outcome> result) {
    outcome = std::move(result);
    answered.Notify();
  });
  answered.WaitForNotification();
  return outcome;
}

Inventory::Inventory(ProductStore* store, WarehouseStore* warehouses,
                     InventoryOptions options)
    : store_(store),
      warehouse_store_(warehouses),
      options_(std::move(options)),
      warehouses_(warehouses),
      workers_(std::max(options_.workers, 1)),
      turns_(store_, &workers_,
             {.max_attempts = options_.max_attempts,
              .clock = options_.clock,
              .metrics = options_.metrics}),
      sweeps_failed_(options_.metrics->GetCounter(
          "shop_inventory_expiry_sweeps_failed_total",
          "Expiry sweeps stopped by a database error.")) {}

Inventory::~Inventory() = default;

void Inventory::Submit(const std::string& product_id,
                       std::vector<std::string> named,
                       std::unique_ptr<Command> command) {
  if (warehouses_.AllKnown(named)) {
    turns_.Submit(product_id, std::move(command));
    return;
  }
  // A warehouse not seen before is looked up off the caller's thread.
  workers_.Schedule([this, product_id, named = std::move(named),
                     command = std::move(command)]() mutable {
    if (absl::Status known = warehouses_.Check(named); !known.ok()) {
      std::move(command->done)(known);
      return;
    }
    turns_.Submit(product_id, std::move(command));
  });
}

absl::StatusOr<WarehouseRecord> Inventory::AddWarehouse(
    const std::string& warehouse_id, const std::string& name,
    const CallContext& context) {
  absl::StatusOr<WarehouseRecord> added =
      warehouse_store_->Add(warehouse_id, name, context.metadata);
  if (added.ok()) warehouses_.Learn(warehouse_id);
  return added;
}

absl::StatusOr<std::vector<WarehouseRecord>> Inventory::ListWarehouses(
    const std::string& after_id, int max_count) {
  return warehouse_store_->List(after_id, max_count);
}

absl::StatusOr<LoadedProduct> Inventory::GetStock(
    const std::string& product_id) {
  absl::StatusOr<LoadedProduct> loaded = store_->Load(product_id);
  if (loaded.ok() && loaded->version == 0) {
    return errors::ProductNotFound(product_id);
  }
  return loaded;
}

absl::StatusOr<std::vector<eventstore::RecordedEvent>> Inventory::ListEvents(
    const std::string& product_id, int64_t from_version, int max_count) {
  absl::StatusOr<std::vector<eventstore::RecordedEvent>> events =
      store_->ReadEvents(product_id, from_version, max_count);
  if (events.ok() && events->empty() && from_version <= 1) {
    // An empty history from the start means there is no such product.
    absl::StatusOr<LoadedProduct> exists = GetStock(product_id);
    if (!exists.ok()) return exists.status();
  }
  return events;
}

absl::StatusOr<int> Inventory::ExpireDue(int max_products) {
  absl::StatusOr<std::vector<std::string>> due =
      store_->ProductsDue(options_.clock(), max_products);
  if (!due.ok()) {
    sweeps_failed_->Increment();
    return due.status();
  }
  CallContext context;
  context.metadata.caused_by = "inventory/expiry-sweep";
  int expired = 0;
  for (const std::string& product_id : *due) {
    absl::StatusOr<Outcome> outcome =
        RunAndWait(product_id, ExpireCommand{}, context);
    if (!outcome.ok()) {
      // Without the database the rest would fail the same way.
      if (absl::IsUnavailable(outcome.status())) {
        sweeps_failed_->Increment();
        return outcome.status();
      }
      // One product that cannot be expired does not hold up the others.
      shop::LogJson("warn", absl::StrCat("expiry sweep: product ", product_id,
                                         ": ", outcome.status().ToString()));
      continue;
    }
    expired += static_cast<int>(outcome->events.size());
  }
  return expired;
}

void Inventory::ExportReservationGauges() {
  shop::metrics::Registry* registry = options_.metrics;
  registry->OnCollect([this, registry] {
    absl::StatusOr<eventstore::DueSummary> due =
        store_->SummarizeDue(options_.clock());
    // A scrape without the database keeps the last figures; the database
    // error is counted where it happened.
    if (!due.ok()) return;
    registry
        ->GetGauge("shop_inventory_products_reserved",
                   "Products holding at least one live reservation.")
        ->Set(due->scheduled);
    registry
        ->GetGauge("shop_inventory_products_overdue",
                   "Products holding a reservation past its expiry, not yet "
                   "given back by the sweep.")
        ->Set(due->due);
    registry
        ->GetGauge("shop_inventory_expiry_lag_seconds",
                   "How long the oldest overdue reservation has waited for "
                   "the sweep (0 when none is overdue).")
        ->Set(absl::ToInt64Seconds(due->oldest_due_for));
  });
}

}  // namespace inventory
