#include "services/cart/app/carts.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/errors/errors.h"
#include "common/eventstore/uuid.h"
#include "common/server/periodic_task.h"
#include "common/util/proto_time.h"

namespace cart {
namespace {

absl::Status CartNotFound(const std::string& cart_id) {
  return shop::MakeError(
      absl::StatusCode::kNotFound, kErrorDomain, "CART_NOT_FOUND",
      absl::StrCat("cart ", cart_id, " not found"), {{"cart_id", cart_id}});
}

}  // namespace

Carts::Carts(CartStore* store, InventoryClient* inventory, CartsOptions options)
    : store_(store), inventory_(inventory), options_(std::move(options)) {}

absl::StatusOr<Carts::Current> Carts::Fetch(Lock& lock,
                                            const std::string& cart_id,
                                            bool allow_cache) {
  std::optional<eventstore::StripedStates<Cart>::Versioned> cached =
      lock.Take();
  if (allow_cache && cached.has_value()) {
    return Current{LoadedCart{std::move(cached->state), cached->version}, true};
  }
  absl::StatusOr<LoadedCart> loaded = store_->Load(cart_id);
  if (!loaded.ok()) return loaded.status();
  return Current{*std::move(loaded), false};
}

absl::StatusOr<CartOutcome> Carts::Execute(
    Lock& lock, const std::string& cart_id, const CallContext& context,
    std::optional<Current> first, Decider decide,
    const std::function<void()>& before_append) {
  for (int attempt = 1; attempt <= options_.max_attempts; ++attempt) {
    absl::StatusOr<Current> current =
        first.has_value() ? *std::exchange(first, std::nullopt)
                          : Fetch(lock, cart_id, /*allow_cache=*/attempt == 1);
    if (!current.ok()) return current.status();
    const LoadedCart& loaded = current->loaded;
    if (context.expected_version.has_value() &&
        *context.expected_version != loaded.version) {
      if (current->from_cache) continue;
      return eventstore::WrongExpectedVersionError(
          StreamOf(cart_id),
          eventstore::ExpectedVersion::Exactly(*context.expected_version),
          loaded.version);
    }
    absl::StatusOr<std::vector<Event>> events = decide(loaded.cart);
    if (!events.ok() || events->empty()) {
      if (current->from_cache) continue;
      if (!events.ok()) return events.status();
      return CartOutcome{loaded.cart, loaded.version};
    }
    Cart after = loaded.cart;
    for (const Event& event : *events) after = Evolve(std::move(after), event);
    if (before_append) before_append();
    absl::StatusOr<eventstore::AppendResult> appended = store_->Append(
        cart_id, loaded.version, *events, after, context.metadata);
    if (appended.ok()) {
      lock.Put({after, appended->version});
      return CartOutcome{std::move(after), appended->version};
    }
    if (!eventstore::ShouldRetryAppend(appended.status(), context)) {
      return appended.status();
    }
    eventstore::BackoffBeforeRetry(attempt + 1);
  }
  return eventstore::ConflictsExhausted(kErrorDomain, StreamOf(cart_id),
                                        options_.max_attempts);
}

absl::StatusOr<CartOutcome> Carts::Create(const std::string& cart_id,
                                          const std::string& customer_id,
                                          const CallContext& context) {
  Lock lock = carts_.Acquire(cart_id);
  return Execute(
      lock, cart_id, context, std::nullopt,
      [&](const Cart& cart) {
        return DecideCreate(cart_id, customer_id, cart);
      },
      nullptr);
}

absl::StatusOr<AddItemOutcome> Carts::AddItem(const std::string& cart_id,
                                              const std::string& product_id,
                                              int64_t quantity,
                                              const std::string& request_id,
                                              const CallContext& context) {
  Lock lock = carts_.Acquire(cart_id);
  const std::string reservation_id =
      ReservationIdFor(cart_id, product_id,
                       request_id.empty() ? eventstore::NewUuid() : request_id);
  // Checked before reserving; anything but "go ahead" is confirmed fresh.
  std::optional<Current> checked;
  for (bool allow_cache : {true, false}) {
    absl::StatusOr<Current> current = Fetch(lock, cart_id, allow_cache);
    if (!current.ok()) return current.status();
    const LoadedCart& loaded = current->loaded;
    absl::Status refusal = absl::OkStatus();
    if (context.expected_version.has_value() &&
        *context.expected_version != loaded.version) {
      refusal = eventstore::WrongExpectedVersionError(
          StreamOf(cart_id),
          eventstore::ExpectedVersion::Exactly(*context.expected_version),
          loaded.version);
    } else if (const Line* line = loaded.cart.FindLine(reservation_id)) {
      // A retry of a call that already went through: same answer.
      if (!current->from_cache) {
        return AddItemOutcome{loaded.cart, loaded.version, *line, std::nullopt};
      }
      continue;
    } else {
      refusal = CheckOpen(cart_id, loaded.cart);
    }
    if (refusal.ok()) {
      checked = *std::move(current);
      break;
    }
    if (!current->from_cache) return refusal;
  }

  absl::StatusOr<inventory::v1::ReserveStockResponse> reserved =
      inventory_->Reserve(product_id, quantity, reservation_id,
                          options_.reservation_ttl_seconds, context.metadata);
  if (!reserved.ok()) return reserved.status();
  const Line line{reservation_id, product_id, quantity,
                  reserved->unit_price_cents()};

  absl::StatusOr<CartOutcome> outcome = Execute(
      lock, cart_id, context, std::move(checked),
      [&](const Cart& cart) { return DecideAddItem(cart_id, line, cart); },
      options_.before_add_append);
  if (!outcome.ok()) {
    // The cart does not show these units, so inventory must not hold them.
    absl::Status released =
        inventory_->Release(product_id, reservation_id, context.metadata);
    if (!released.ok()) {
      shop::LogJson("warn", absl::StrCat("reservation ", reservation_id, " of ",
                                         product_id, " left to expire: ",
                                         released.ToString()));
    }
    return outcome.status();
  }
  return AddItemOutcome{std::move(outcome->cart), outcome->version, line,
                        shop::FromProto(reserved->expires_at())};
}

absl::StatusOr<CartOutcome> Carts::RemoveItem(const std::string& cart_id,
                                              const std::string& product_id,
                                              const CallContext& context) {
  Lock lock = carts_.Acquire(cart_id);
  std::vector<std::string> released;
  absl::StatusOr<CartOutcome> outcome = Execute(
      lock, cart_id, context, std::nullopt,
      [&](const Cart& cart) -> absl::StatusOr<std::vector<Event>> {
        absl::StatusOr<std::vector<Event>> events =
            DecideRemoveItem(cart_id, product_id, cart);
        released.clear();
        if (events.ok()) {
          for (const Event& event : *events) {
            released.push_back(
                std::get<v1::ItemRemoved>(event).reservation_id());
          }
        }
        return events;
      },
      nullptr);
  if (!outcome.ok()) return outcome;
  // Released after the cart stopped showing them: a failure here only
  // leaves the units held until their reservation expires.
  for (const std::string& reservation_id : released) {
    absl::Status status =
        inventory_->Release(product_id, reservation_id, context.metadata);
    if (!status.ok()) {
      shop::LogJson("warn", absl::StrCat("reservation ", reservation_id, " of ",
                                         product_id, " left to expire: ",
                                         status.ToString()));
    }
  }
  return outcome;
}

absl::StatusOr<CartOutcome> Carts::Checkout(const std::string& cart_id,
                                            const CallContext& context) {
  Lock lock = carts_.Acquire(cart_id);
  return Execute(
      lock, cart_id, context, std::nullopt,
      [&](const Cart& cart) -> absl::StatusOr<std::vector<Event>> {
        if (absl::Status can = CheckCanCheckout(cart_id, cart); !can.ok()) {
          return can;
        }
        if (cart.checked_out) return std::vector<Event>{};
        // Committing is idempotent in inventory, so a retried checkout that
        // died half-way finishes the job without selling anything twice.
        for (const Line& line : cart.lines) {
          absl::Status committed = inventory_->Commit(
              line.product_id, line.reservation_id, context.metadata);
          if (!committed.ok()) return committed;
        }
        return DecideCheckout(cart_id, cart);
      },
      nullptr);
}

absl::StatusOr<LoadedCart> Carts::Get(const std::string& cart_id) {
  absl::StatusOr<LoadedCart> loaded = store_->Load(cart_id);
  if (loaded.ok() && loaded->version == 0) return CartNotFound(cart_id);
  return loaded;
}

absl::StatusOr<std::vector<eventstore::RecordedEvent>> Carts::ListEvents(
    const std::string& cart_id, int64_t from_version, int max_count) {
  absl::StatusOr<std::vector<eventstore::RecordedEvent>> events =
      store_->ReadEvents(cart_id, from_version, max_count);
  if (events.ok() && events->empty() && from_version <= 1) {
    return CartNotFound(cart_id);
  }
  return events;
}

}  // namespace cart
