#include "services/inventory/app/inventory.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/errors/errors.h"

namespace inventory {

Inventory::Inventory(ProductStore* store, InventoryOptions options)
    : store_(store), options_(std::move(options)) {}

absl::StatusOr<Outcome> Inventory::Execute(
    const std::string& product_id, const CallContext& context, Decider decide,
    absl::FunctionRef<void()> on_unique_violation) {
  auto lock = products_.Acquire(product_id);
  for (int attempt = 1; attempt <= options_.max_attempts; ++attempt) {
    LoadedProduct loaded;
    std::optional<eventstore::StripedStates<Product>::Versioned> cached =
        lock.Take(product_id);
    // Only a write may rest on cached state (its append checks the
    // version); refusals and no-ops are confirmed on a fresh load.
    const bool from_cache = cached.has_value();
    if (from_cache) {
      loaded = LoadedProduct{std::move(cached->state), cached->version};
    } else {
      absl::StatusOr<LoadedProduct> fresh = store_->Load(product_id);
      if (!fresh.ok()) return fresh.status();
      loaded = *std::move(fresh);
    }
    if (context.expected_version.has_value() &&
        *context.expected_version != loaded.version) {
      if (from_cache) continue;
      return eventstore::WrongExpectedVersionError(
          StreamOf(product_id),
          eventstore::ExpectedVersion::Exactly(*context.expected_version),
          loaded.version);
    }
    absl::StatusOr<std::vector<Event>> events = decide(loaded.product);
    if (!events.ok() || events->empty()) {
      if (from_cache) continue;
      if (!events.ok()) return events.status();
      return Outcome{std::move(loaded.product), loaded.version, {}};
    }
    Product after = loaded.product;
    for (const Event& event : *events) after = Evolve(std::move(after), event);
    absl::StatusOr<eventstore::AppendResult> appended = store_->Append(
        product_id, loaded.version, *events, after, context.metadata);
    if (appended.ok()) {
      lock.Put(product_id, {after, appended->version});
      return Outcome{std::move(after), appended->version, *std::move(events)};
    }
    if (shop::ReasonOf(appended.status()) ==
        eventstore::kUniqueViolationReason) {
      on_unique_violation();
      continue;
    }
    // Another replica wrote first: decide again on the new state.
    if (!eventstore::ShouldRetryAppend(appended.status(), context)) {
      return appended.status();
    }
    eventstore::BackoffBeforeRetry(attempt + 1);
  }
  return eventstore::ConflictsExhausted(kErrorDomain, StreamOf(product_id),
                                        options_.max_attempts);
}

absl::StatusOr<PastReservation> Inventory::PastOf(
    const std::string& product_id, const std::string& reservation_id,
    const Product& product) {
  if (!product.exists || product.reservations.contains(reservation_id)) {
    return PastReservation::kNone;
  }
  return store_->FindPastReservation(product_id, reservation_id);
}

absl::StatusOr<Outcome> Inventory::AddProduct(
    const std::string& product_id, const inventory::AddProduct& command,
    const CallContext& context) {
  return Execute(product_id, context, [&](const Product& product) {
    return Decide(product_id, command, product);
  });
}

absl::StatusOr<Outcome> Inventory::ReceiveStock(
    const std::string& product_id, const inventory::ReceiveStock& command,
    const CallContext& context) {
  return Execute(product_id, context, [&](const Product& product) {
    return Decide(product_id, command, product);
  });
}

absl::StatusOr<Outcome> Inventory::ReserveStock(const std::string& product_id,
                                                inventory::ReserveStock command,
                                                const CallContext& context) {
  if (command.ttl <= absl::ZeroDuration()) command.ttl = options_.default_ttl;
  // A new id is the common case: history is consulted only once the
  // reservation_once index has said the id was used before.
  bool id_used_before = false;
  return Execute(
      product_id, context,
      [&](const Product& product) -> absl::StatusOr<std::vector<Event>> {
        PastReservation past = PastReservation::kNone;
        if (id_used_before) {
          absl::StatusOr<PastReservation> found =
              PastOf(product_id, command.reservation_id, product);
          if (!found.ok()) return found.status();
          past = *found;
        }
        return Decide(product_id, command, product, past, options_.clock());
      },
      [&] { id_used_before = true; });
}

absl::StatusOr<Outcome> Inventory::ReleaseStock(
    const std::string& product_id, const std::string& reservation_id,
    const CallContext& context) {
  return Execute(
      product_id, context,
      [&](const Product& product) -> absl::StatusOr<std::vector<Event>> {
        absl::StatusOr<PastReservation> past =
            PastOf(product_id, reservation_id, product);
        if (!past.ok()) return past.status();
        return DecideRelease(product_id, reservation_id, product, *past);
      });
}

absl::StatusOr<Outcome> Inventory::CommitReservation(
    const std::string& product_id, const std::string& reservation_id,
    const CallContext& context) {
  return Execute(
      product_id, context,
      [&](const Product& product) -> absl::StatusOr<std::vector<Event>> {
        absl::StatusOr<PastReservation> past =
            PastOf(product_id, reservation_id, product);
        if (!past.ok()) return past.status();
        return DecideCommit(product_id, reservation_id, product, *past,
                            options_.clock());
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
    absl::StatusOr<Outcome> outcome =
        Execute(product_id, context, [&](const Product& product) {
          return absl::StatusOr<std::vector<Event>>(
              DecideExpire(product, options_.clock()));
        });
    if (!outcome.ok()) return outcome.status();
    expired += static_cast<int>(outcome->events.size());
  }
  return expired;
}

}  // namespace inventory
