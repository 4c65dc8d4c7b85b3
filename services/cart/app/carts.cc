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

namespace cart {
namespace {

absl::Status CartNotFound(const std::string& cart_id) {
  return shop::MakeError(
      absl::StatusCode::kNotFound, kErrorDomain, "CART_NOT_FOUND",
      absl::StrCat("cart ", cart_id, " not found"), {{"cart_id", cart_id}});
}

}  // namespace

// A command waiting for its cart's turn; `start` runs when it comes, with
// the cart the cache holds.
struct Carts::Waiter : shop::TurnQueue<Cart>::Waiter {
  Waiter() { combinable = false; }
  absl::AnyInvocable<void(std::optional<Cached> cached) &&> start;
};

// A cart's turn for a command that waits for it on its own thread; the
// turn passes on when this goes away.
class Carts::HeldTurn final {
 public:
  HeldTurn(Carts& carts, std::string cart_id)
      : carts_(carts), cart_id_(std::move(cart_id)) {
    absl::Notification granted;
    waiter_.start = [&](std::optional<Cached> cached) {
      state_.cached = std::move(cached);
      granted.Notify();
    };
    carts_.Submit(cart_id_, &waiter_);
    granted.WaitForNotification();
  }
  ~HeldTurn() { carts_.EndTurn(cart_id_, std::move(state_.after)); }
  HeldTurn(const HeldTurn&) = delete;
  HeldTurn& operator=(const HeldTurn&) = delete;

  TurnState& state() { return state_; }

 private:
  Carts& carts_;
  const std::string cart_id_;
  Waiter waiter_;
  TurnState state_;
};

// One AddItem call, from its turn to its answer.
struct Carts::AddItemOp final : Waiter {
  std::string cart_id;
  std::string product_id;
  int64_t quantity = 0;
  std::string reservation_id;
  // A retry of the call (same request id) claims the same reservation.
  bool claimable = false;
  CallContext context;
  AddItemDone done;
  TurnState turn;
  // The cart as checked before reserving.
  std::optional<Current> checked;
  std::optional<Line> line;
  std::optional<absl::Time> expires_at;
};

Carts::Carts(CartStore* store, InventoryClient* inventory, CartsOptions options)
    : store_(store),
      inventory_(inventory),
      options_(std::move(options)),
      workers_(std::max(options_.workers, 1)) {}

Carts::~Carts() { carts_.AwaitNoTurns(); }

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
    const std::function<void()>& before_append) {
  for (int attempt = 1; attempt <= options_.max_attempts; ++attempt) {
    absl::StatusOr<Current> current =
        first.has_value() ? *std::exchange(first, std::nullopt)
                          : Fetch(turn, cart_id, /*allow_cache=*/attempt == 1);
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
      turn.after = Cached{after, appended->version};
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
  HeldTurn turn(*this, cart_id);
  return Execute(
      turn.state(), cart_id, context, std::nullopt,
      [&](const Cart& cart) {
        return DecideCreate(cart_id, customer_id, cart);
      },
      nullptr);
}

void Carts::AddItem(std::string cart_id, std::string product_id,
                    int64_t quantity, const std::string& request_id,
                    CallContext context, AddItemDone done) {
  // Owned by the cart's queue, then by the steps, until answered.
  auto* op = new AddItemOp;
  op->reservation_id =
      ReservationIdFor(cart_id, product_id,
                       request_id.empty() ? eventstore::NewUuid() : request_id);
  op->claimable = !request_id.empty();
  op->cart_id = std::move(cart_id);
  op->product_id = std::move(product_id);
  op->quantity = quantity;
  op->context = std::move(context);
  op->done = std::move(done);
  op->start = [this, op](std::optional<Cached> cached) {
    op->turn.cached = std::move(cached);
    StartAddItem(op);
  };
  Submit(op->cart_id, op);
}

void Carts::StartAddItem(AddItemOp* op) {
  // A cached cart that lets the item in needs no database before the
  // reservation; anything else is checked on a fresh load, on a worker.
  if (op->turn.cached.has_value()) {
    const Cached& cached = *op->turn.cached;
    const std::optional<int64_t>& expected = op->context.expected_version;
    if ((!expected.has_value() || *expected == cached.version) &&
        cached.state.FindLine(op->reservation_id) == nullptr &&
        CheckOpen(op->cart_id, cached.state).ok()) {
      absl::StatusOr<Current> current =
          Fetch(op->turn, op->cart_id, /*allow_cache=*/true);
      op->checked = *std::move(current);
      Reserve(op);
      return;
    }
  }
  workers_.Schedule([this, op] { CheckAddItem(op); });
}

void Carts::CheckAddItem(AddItemOp* op) {
  // Checked before reserving; anything but "go ahead" is confirmed fresh.
  for (bool allow_cache : {true, false}) {
    absl::StatusOr<Current> current = Fetch(op->turn, op->cart_id, allow_cache);
    if (!current.ok()) return FinishAddItem(op, current.status());
    const LoadedCart& loaded = current->loaded;
    absl::Status refusal = absl::OkStatus();
    if (op->context.expected_version.has_value() &&
        *op->context.expected_version != loaded.version) {
      refusal = eventstore::WrongExpectedVersionError(
          StreamOf(op->cart_id),
          eventstore::ExpectedVersion::Exactly(*op->context.expected_version),
          loaded.version);
    } else if (const Line* line = loaded.cart.FindLine(op->reservation_id)) {
      // A retry of a call that already went through: same answer.
      if (!current->from_cache) {
        return FinishAddItem(op, AddItemOutcome{loaded.cart, loaded.version,
                                                *line, std::nullopt});
      }
      continue;
    } else {
      refusal = CheckOpen(op->cart_id, loaded.cart);
    }
    if (refusal.ok()) {
      op->checked = *std::move(current);
      return Reserve(op);
    }
    if (!current->from_cache) return FinishAddItem(op, refusal);
  }
}

void Carts::Reserve(AddItemOp* op) {
  inventory_->Reserve(
      op->product_id, op->quantity, op->reservation_id,
      options_.reservation_ttl_seconds, op->context.metadata,
      [this, op](absl::StatusOr<inventory::v1::ReserveStockResponse> reserved) {
        if (!reserved.ok()) {
          if (!op->claimable && shop::OutcomeUnknown(reserved.status())) {
            // Inventory may have reserved after all, under an id that no
            // retry will use: give the units back rather than hold them.
            workers_.Schedule([this, product_id = op->product_id,
                               reservation_id = op->reservation_id,
                               metadata = op->context.metadata] {
              ReleaseOrLeave(product_id, reservation_id, metadata);
            });
          }
          // Nothing was written: the cart as checked is still current.
          const LoadedCart& loaded = op->checked->loaded;
          op->turn.after = Cached{loaded.cart, loaded.version};
          return FinishAddItem(op, reserved.status());
        }
        op->line = Line{op->reservation_id, op->product_id, op->quantity,
                        reserved->unit_price_cents()};
        op->expires_at = shop::FromProto(reserved->expires_at());
        AppendItem(op);
      });
}

void Carts::AppendItem(AddItemOp* op) {
  const LoadedCart& loaded = op->checked->loaded;
  absl::StatusOr<std::vector<Event>> events =
      DecideAddItem(op->cart_id, *op->line, loaded.cart);
  if (!op->checked->from_cache || !events.ok() || events->empty()) {
    // Decided on a fresh load, or to be confirmed on one: the waiting path.
    workers_.Schedule([this, op] { AppendItemWaiting(op); });
    return;
  }
  Cart after = loaded.cart;
  for (const Event& event : *events) after = Evolve(std::move(after), event);
  if (options_.before_add_append) options_.before_add_append();
  // The callback keeps a copy: the store still reads `after` while the
  // arguments are built.
  store_->AppendAsync(
      op->cart_id, loaded.version, *events, after, op->context.metadata,
      [this, op,
       after](absl::StatusOr<eventstore::AppendResult> appended) mutable {
        if (!appended.ok()) {
          // A conflict: decided again on fresh loads, on a worker.
          workers_.Schedule([this, op] { AppendItemWaiting(op); });
          return;
        }
        op->turn.after = Cached{after, appended->version};
        FinishAddItem(op, AddItemOutcome{std::move(after), appended->version,
                                         *op->line, op->expires_at});
      });
}

void Carts::AppendItemWaiting(AddItemOp* op) {
  std::optional<Current> first;
  if (!op->checked->from_cache) {
    first = std::exchange(op->checked, std::nullopt);
  }
  absl::StatusOr<CartOutcome> outcome = Execute(
      op->turn, op->cart_id, op->context, std::move(first),
      [&](const Cart& cart) {
        return DecideAddItem(op->cart_id, *op->line, cart);
      },
      options_.before_add_append);
  if (!outcome.ok()) {
    if (shop::OutcomeUnknown(outcome.status())) {
      // The line may be in the cart (an answer lost after the commit), so
      // its reservation stays: a retry claims it, or it expires.
      shop::LogJson("warn", absl::StrCat("reservation ", op->reservation_id,
                                         " of ", op->product_id,
                                         " kept, cart write unconfirmed: ",
                                         outcome.status().ToString()));
    } else {
      // The cart does not show these units, so inventory must not hold them.
      ReleaseOrLeave(op->product_id, op->reservation_id, op->context.metadata);
    }
    return FinishAddItem(op, outcome.status());
  }
  FinishAddItem(op, AddItemOutcome{std::move(outcome->cart), outcome->version,
                                   *op->line, op->expires_at});
}

void Carts::ReleaseOrLeave(const std::string& product_id,
                           const std::string& reservation_id,
                           const eventstore::Metadata& metadata) {
  absl::Status released =
      inventory_->Release(product_id, reservation_id, metadata);
  // NOT_FOUND too: a release that overtook its reservation leaves it held.
  if (!released.ok()) {
    shop::LogJson(
        "warn", absl::StrCat("reservation ", reservation_id, " of ", product_id,
                             " left to expire: ", released.ToString()));
  }
}

void Carts::FinishAddItem(AddItemOp* op,
                          absl::StatusOr<AddItemOutcome> result) {
  std::unique_ptr<AddItemOp> owned(op);
  std::move(owned->done)(std::move(result));
  EndTurn(owned->cart_id, std::move(owned->turn.after));
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
  if (!outcome.ok() && shop::OutcomeUnknown(outcome.status()) &&
      !released.empty()) {
    // The removal may have landed with its answer lost: a fresh load says.
    absl::StatusOr<LoadedCart> now = store_->Load(cart_id);
    if (now.ok() && std::none_of(released.begin(), released.end(),
                                 [&](const std::string& reservation_id) {
                                   return now->cart.FindLine(reservation_id) !=
                                          nullptr;
                                 })) {
      outcome = CartOutcome{std::move(now->cart), now->version};
    }
  }
  if (!outcome.ok()) return outcome;
  // Released after the cart stopped showing them: a failure here only
  // leaves the units held until their reservation expires.
  for (const std::string& reservation_id : released) {
    ReleaseOrLeave(product_id, reservation_id, context.metadata);
  }
  return outcome;
}

absl::StatusOr<CartOutcome> Carts::Checkout(const std::string& cart_id,
                                            const CallContext& context) {
  HeldTurn turn(*this, cart_id);
  // The cart is frozen before the first sale, so the lines sold are the
  // lines the cart shows, whichever replica serves the next call.
  absl::StatusOr<CartOutcome> started = Execute(
      turn.state(), cart_id, context, std::nullopt,
      [&](const Cart& cart) { return DecideStartCheckout(cart_id, cart); },
      nullptr);
  if (!started.ok() || started->cart.checked_out) return started;
  // The caller's expected version was checked when the checkout started.
  CallContext finishing = context;
  finishing.expected_version.reset();
  // Committing is idempotent in inventory, so a retried checkout that
  // died half-way finishes the job without selling anything twice.
  std::vector<std::string> sold;
  for (const Line& line : started->cart.lines) {
    absl::Status committed = inventory_->Commit(
        line.product_id, line.reservation_id, context.metadata);
    if (committed.ok()) {
      sold.push_back(line.reservation_id);
      continue;
    }
    if (committed.code() == absl::StatusCode::kFailedPrecondition) {
      // The line can never be sold: the cart is unfrozen so that it can be
      // removed, keeping the lines sold so far. Had it been sold by an
      // earlier try, this commit would have succeeded, so none after it was.
      absl::StatusOr<CartOutcome> stopped = Execute(
          turn.state(), cart_id, finishing, std::nullopt,
          [&](const Cart& cart) {
            return DecideStopCheckout(cart, line.reservation_id,
                                      shop::ReasonOf(committed), sold);
          },
          nullptr);
      if (!stopped.ok()) {
        shop::LogJson("warn",
                      absl::StrCat("cart ", cart_id, " stays in checkout: ",
                                   stopped.status().ToString()));
      }
    }
    return committed;
  }
  // Decided on the cart as started (its append checks the version).
  return Execute(
      turn.state(), cart_id, finishing,
      Current{LoadedCart{std::move(started->cart), started->version},
              /*from_cache=*/true},
      [&](const Cart& cart) { return DecideCheckout(cart_id, cart); }, nullptr);
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
