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

namespace inventory {
namespace {

// A decision that needs nothing but the product.
template <typename C>
DecideFn DecideOnState(const std::string& product_id, C command) {
  return [product_id, command = std::move(command)](const Product& product,
                                                    const Facts& /*facts*/) {
    return Decide(product_id, command, product);
  };
}

// Waits for the answer of a command started by `start`.
absl::StatusOr<Outcome> Await(absl::FunctionRef<void(Done)> start) {
  absl::Notification answered;
  absl::StatusOr<Outcome> outcome;
  start([&](absl::StatusOr<Outcome> result) {
    outcome = std::move(result);
    answered.Notify();
  });
  answered.WaitForNotification();
  return outcome;
}

}  // namespace

Inventory::Inventory(ProductStore* store, InventoryOptions options)
    : store_(store),
      options_(std::move(options)),
      workers_(std::max(options_.workers, 1)),
      turns_(store_, &workers_,
             {.max_attempts = options_.max_attempts, .clock = options_.clock}) {
}

Inventory::~Inventory() = default;

void Inventory::Execute(const std::string& product_id, CallContext context,
                        std::string reservation_id, bool needs_past,
                        DecideFn decide, Done done) {
  turns_.Submit(product_id,
                std::make_unique<Command>(std::move(context),
                                          std::move(reservation_id), needs_past,
                                          std::move(decide), std::move(done)));
}

void Inventory::AddProduct(const std::string& product_id,
                           inventory::AddProduct command, CallContext context,
                           Done done) {
  Execute(product_id, std::move(context), "", /*needs_past=*/false,
          DecideOnState(product_id, std::move(command)), std::move(done));
}

void Inventory::ReceiveStock(const std::string& product_id,
                             inventory::ReceiveStock command,
                             CallContext context, Done done) {
  Execute(product_id, std::move(context), "", /*needs_past=*/false,
          DecideOnState(product_id, std::move(command)), std::move(done));
}

void Inventory::ReserveStock(const std::string& product_id,
                             inventory::ReserveStock command,
                             CallContext context, Done done) {
  if (command.ttl <= absl::ZeroDuration()) command.ttl = options_.default_ttl;
  std::string reservation_id = command.reservation_id;
  // A new id is the common case: history is consulted only once the
  // reservation_once index has said the id was used before.
  Execute(
      product_id, std::move(context), std::move(reservation_id),
      /*needs_past=*/false,
      [product_id, command = std::move(command)](const Product& product,
                                                 const Facts& facts) {
        return Decide(product_id, command, product, facts.past, facts.now);
      },
      std::move(done));
}

void Inventory::ReleaseStock(const std::string& product_id,
                             const std::string& reservation_id,
                             CallContext context, Done done) {
  Execute(
      product_id, std::move(context), reservation_id, /*needs_past=*/true,
      [product_id, reservation_id](const Product& product, const Facts& facts) {
        return DecideRelease(product_id, reservation_id, product, facts.past);
      },
      std::move(done));
}

void Inventory::CommitReservation(const std::string& product_id,
                                  const std::string& reservation_id,
                                  CallContext context, Done done) {
  Execute(
      product_id, std::move(context), reservation_id, /*needs_past=*/true,
      [product_id, reservation_id](const Product& product, const Facts& facts) {
        return DecideCommit(product_id, reservation_id, product, facts.past,
                            facts.now);
      },
      std::move(done));
}

absl::StatusOr<Outcome> Inventory::AddProduct(
    const std::string& product_id, const inventory::AddProduct& command,
    const CallContext& context) {
  return Await([&](Done done) {
    AddProduct(product_id, command, context, std::move(done));
  });
}

absl::StatusOr<Outcome> Inventory::ReserveStock(
    const std::string& product_id, const inventory::ReserveStock& command,
    const CallContext& context) {
  return Await([&](Done done) {
    ReserveStock(product_id, command, context, std::move(done));
  });
}

absl::StatusOr<Outcome> Inventory::ReleaseStock(
    const std::string& product_id, const std::string& reservation_id,
    const CallContext& context) {
  return Await([&](Done done) {
    ReleaseStock(product_id, reservation_id, context, std::move(done));
  });
}

absl::StatusOr<LoadedProduct> Inventory::GetStock(
    const std::string& product_id) {
  absl::StatusOr<LoadedProduct> loaded = store_->Load(product_id);
  if (loaded.ok() && loaded->version == 0) {
    return shop::MakeError(absl::StatusCode::kNotFound, kErrorDomain,
                           "PRODUCT_NOT_FOUND",
                           absl::StrCat("product ", product_id, " not found"),
                           {{"product_id", product_id}});
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
  if (!due.ok()) return due.status();
  CallContext context;
  context.metadata.caused_by = "inventory/expiry-sweep";
  int expired = 0;
  for (const std::string& product_id : *due) {
    absl::StatusOr<Outcome> outcome = Await([&](Done done) {
      Execute(
          product_id, context, "", /*needs_past=*/false,
          [](const Product& product, const Facts& facts) {
            return absl::StatusOr<std::vector<Event>>(
                DecideExpire(product, facts.now));
          },
          std::move(done));
    });
    if (!outcome.ok()) {
      // Without the database the rest would fail the same way.
      if (absl::IsUnavailable(outcome.status())) return outcome.status();
      // One product that cannot be expired does not hold up the others.
      shop::LogJson("warn", absl::StrCat("expiry sweep: product ", product_id,
                                         ": ", outcome.status().ToString()));
      continue;
    }
    expired += static_cast<int>(outcome->events.size());
  }
  return expired;
}

}  // namespace inventory
