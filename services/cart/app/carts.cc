// Owns the turn of a cart (queue, fetch, decide, append, next), the
// commands that wait for it on their own thread (Create, RemoveItem), the
// reads, and carrying out a reservation's fate.
#include "services/cart/app/carts.h"

#include <algorithm>
#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "common/errors/errors.h"
#include "common/eventstore/uuid.h"
#include "common/logging/log.h"
#include "common/util/proto_time.h"
#include "services/cart/app/carts_internal.h"
#include "services/cart/app/orders.h"

namespace cart {

CartCounters::CartCounters(shop::metrics::Registry& registry) {
  const char* releases = "shop_cart_releases_total";
  const char* releases_help =
      "Reservations the cart gave back to inventory, by why and result.";
  compensated = registry.GetCounter(
      releases, releases_help, {{"why", "compensation"}, {"result", "ok"}});
  compensation_failed = registry.GetCounter(
      releases, releases_help,
      {{"why", "compensation"}, {"result", "left_to_expire"}});
  release_failed =
      registry.GetCounter(releases, releases_help,
                          {{"why", "removed"}, {"result", "left_to_expire"}});
  kept_unconfirmed = registry.GetCounter(
      "shop_cart_reservations_kept_unconfirmed_total",
      "Reservations kept because the cart's step has an unknown outcome; a "
      "retry claims them or they expire.");
  const char* checkouts = "shop_cart_checkouts_total";
  const char* checkouts_help = "Checkouts that ran their commits, by result.";
  checkouts_completed =
      registry.GetCounter(checkouts, checkouts_help, {{"result", "completed"}});
  checkouts_stopped =
      registry.GetCounter(checkouts, checkouts_help, {{"result", "stopped"}});
  checkouts_unfinished = registry.GetCounter(checkouts, checkouts_help,
                                             {{"result", "unfinished"}});
}

Carts::Carts(CartStore* store, InventoryClient* inventory, CartsOptions options)
    : store_(store),
      inventory_(inventory),
      options_(std::move(options)),
      counters_(*options_.metrics),
      workers_(std::max(options_.workers, 1)) {}

Carts::~Carts() { carts_.AwaitNoTurns(); }

InventoryCall InventoryCallOf(const CallContext& context) {
  return InventoryCall{context.metadata, context.deadline};
}

namespace {

// Starts the command whose turn it is. The callable is moved out first: the
// command may be finished, and freed, by another thread before it returns.
template <typename Turn>
void Begin(Turn& turn) {
  auto start = std::move(turn.batch[0]->start);
  std::move(start)(std::move(turn.cached));
}

}  // namespace

void Carts::Submit(const std::string& cart_id, Waiter* waiter) {
  std::optional<shop::TurnQueue<Cart>::Turn<Waiter>> turn =
      carts_.Enter<Waiter>(cart_id, waiter, 1);
  if (turn.has_value()) Begin(*turn);
}

void Carts::EndTurn(const std::string& cart_id, std::optional<Cached> after) {
  std::optional<shop::TurnQueue<Cart>::Turn<Waiter>> next =
      carts_.Next<Waiter>(cart_id, std::move(after), 1);
  if (next.has_value()) Begin(*next);
}

absl::StatusOr<Carts::Current> Carts::Fetch(TurnState& turn,
                                            const std::string& cart_id,
                                            bool allow_cache) {
  std::optional<Cached> cached = std::exchange(turn.cached, std::nullopt);
  if (allow_cache && cached.has_value()) {
    return Current{LoadedCart{std::move(cached->state), cached->version}, true};
  }
  absl::StatusOr<LoadedCart> loaded = store_->Load(cart_id);
  if (!loaded.ok()) return loaded.status();
  return Current{*std::move(loaded), false};
}

absl::StatusOr<CartOutcome> Carts::Execute(
    TurnState& turn, const std::string& cart_id, const CallContext& context,
    std::optional<Current> first, Decider decide,
    const std::function<void()>& before_append, const std::string* order_id) {
  eventstore::AppendRetry retry(options_.max_attempts);
  // The cached cart is tried first; once it proves stale, the stored one.
  bool allow_cache = true;
  for (;;) {
    absl::StatusOr<Current> current = first.has_value()
                                          ? *std::exchange(first, std::nullopt)
                                          : Fetch(turn, cart_id, allow_cache);
    if (!current.ok()) return current.status();
    allow_cache = false;
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
    absl::StatusOr<eventstore::AppendResult> appended =
        order_id == nullptr
            ? store_->Append(cart_id, loaded.version, *events, after,
                             context.metadata,
                             context.deadline.value_or(absl::InfiniteFuture()))
            : store_->AppendCheckout(
                  cart_id, loaded.version, *events, after, context.metadata,
                  *order_id, PlacedFrom(cart_id, loaded.cart),
                  OrderMetadata(context.metadata, *order_id));
    if (appended.ok()) {
      turn.after = Cached{after, appended->version};
      return CartOutcome{std::move(after), appended->version,
                         appended->position};
    }
    if (!retry.Again(appended.status(), context)) {
      return retry.Answer(appended.status(), kErrorDomain, StreamOf(cart_id));
    }
  }
}

absl::StatusOr<CartOutcome> Carts::Create(const std::string& cart_id,
                                          const std::string& customer_id,
                                          const CallContext& context) {
  HeldTurn turn(*this, cart_id);
  return Execute(
      turn.state(), cart_id, context, std::nullopt,
      [&](const Cart& cart) {
        return DecideCreate(cart_id, customer_id, cart);
      },
      nullptr);
}

absl::StatusOr<CartOutcome> Carts::RemoveItem(const std::string& cart_id,
                                              const std::string& product_id,
                                              const CallContext& context) {
  HeldTurn turn(*this, cart_id);
  std::vector<std::string> released;
  absl::StatusOr<CartOutcome> outcome = Execute(
      turn.state(), cart_id, context, std::nullopt,
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
  Fate fate = FateAfter(Step::kAppendRemove, outcome.status(),
                        /*claimable=*/false);
  if (fate == Fate::kReleaseIfGone && !released.empty()) {
    // The removal may have landed with its answer lost: a fresh load says.
    absl::StatusOr<LoadedCart> now = store_->Load(cart_id);
    if (now.ok() && std::none_of(released.begin(), released.end(),
                                 [&](const std::string& reservation_id) {
                                   return now->cart.FindLine(reservation_id) !=
                                          nullptr;
                                 })) {
      outcome = CartOutcome{std::move(now->cart), now->version};
      fate = Fate::kRelease;
    } else {
      fate = Fate::kKeep;
    }
  }
  // Released after the cart stopped showing them: a failure here only
  // leaves the units held until their reservation expires.
  for (const std::string& reservation_id : released) {
    Settle(fate, product_id, reservation_id, context, outcome.status());
  }
  return outcome;
}

void Carts::Settle(Fate fate, const std::string& product_id,
                   const std::string& reservation_id,
                   const CallContext& context, const absl::Status& cause) {
  switch (fate) {
    case Fate::kRelease: {
      const bool released = ReleaseOrLeave(product_id, reservation_id, context);
      // After a failed step the release undoes the reservation; after a
      // removal it is the removal's own effect.
      if (!cause.ok()) {
        (released ? counters_.compensated : counters_.compensation_failed)
            ->Increment();
      } else if (!released) {
        counters_.release_failed->Increment();
      }
      return;
    }
    case Fate::kKeep:
      if (!cause.ok()) {
        counters_.kept_unconfirmed->Increment();
        shop::LogJson(
            "warn",
            absl::StrCat("reservation ", reservation_id, " of ", product_id,
                         " kept, outcome unconfirmed: ", cause.ToString()));
      }
      return;
    case Fate::kNothingHeld:
    case Fate::kReleaseIfGone:
      return;
  }
}

bool Carts::ReleaseOrLeave(const std::string& product_id,
                           const std::string& reservation_id,
                           const CallContext& context) {
  // Released even after the caller gave up: only the client's own bound.
  absl::Status released =
      inventory_->Release(product_id, reservation_id, 0, "",
                          InventoryCall{context.metadata, std::nullopt});
  // NOT_FOUND too: a release that overtook its reservation leaves it held.
  if (!released.ok()) {
    shop::LogJson(
        "warn", absl::StrCat("reservation ", reservation_id, " of ", product_id,
                             " left to expire: ", released.ToString()));
  }
  return released.ok();
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
