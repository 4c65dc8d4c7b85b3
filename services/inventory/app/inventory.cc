#include "services/inventory/app/inventory.h"

#include <utility>

#include "absl/hash/hash.h"
#include "absl/strings/str_cat.h"
#include "common/errors/errors.h"

namespace inventory {

Inventory::Inventory(ProductStore* store, InventoryOptions options)
    : store_(store), options_(std::move(options)) {}

absl::Mutex& Inventory::LockFor(const std::string& product_id) {
  return product_locks_[absl::Hash<std::string>{}(product_id) %
                        product_locks_.size()];
}

absl::StatusOr<Outcome> Inventory::Execute(const std::string& product_id,
                                           const CallContext& context,
                                           Decider decide) {
  absl::MutexLock lock(&LockFor(product_id));
  for (int attempt = 1; attempt <= options_.max_attempts; ++attempt) {
    absl::StatusOr<LoadedProduct> loaded = store_->Load(product_id);
    if (!loaded.ok()) return loaded.status();
    if (context.expected_version.has_value() &&
        *context.expected_version != loaded->version) {
      return eventstore::WrongExpectedVersionError(
          StreamOf(product_id),
          eventstore::ExpectedVersion::Exactly(*context.expected_version),
          loaded->version);
    }
    absl::StatusOr<std::vector<Event>> events = decide(loaded->product);
    if (!events.ok()) return events.status();
    if (events->empty()) {
      return Outcome{std::move(loaded->product), loaded->version, {}};
    }
    Product after = loaded->product;
    for (const Event& event : *events) after = Evolve(std::move(after), event);
    absl::StatusOr<eventstore::AppendResult> appended = store_->Append(
        product_id, loaded->version, *events, after, context.metadata);
    if (appended.ok()) {
      return Outcome{std::move(after), appended->version, *std::move(events)};
    }
    // Another replica wrote first: decide again on the new state, unless
    // the caller pinned the version it decided on.
    if (!eventstore::AsWrongExpectedVersion(appended.status()).has_value() ||
        context.expected_version.has_value()) {
      return appended.status();
    }
  }
  return shop::MakeError(
      absl::StatusCode::kAborted, kErrorDomain, "CONCURRENCY_CONFLICT",
      absl::StrCat("product ", product_id, " kept changing: gave up after ",
                   options_.max_attempts, " attempts; retry the call"),
      {{"product_id", product_id}});
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
  return Execute(
      product_id, context,
      [&](const Product& product) -> absl::StatusOr<std::vector<Event>> {
        absl::StatusOr<PastReservation> past =
            PastOf(product_id, command.reservation_id, product);
        if (!past.ok()) return past.status();
        return Decide(product_id, command, product, *past, options_.clock());
      });
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
