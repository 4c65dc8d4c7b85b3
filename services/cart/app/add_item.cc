// Owns AddItem's flow: check the cart, reserve in inventory, append the
// line, answer; from callbacks on a cached cart, on a worker otherwise.
#include <memory>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/errors/errors.h"
#include "common/eventstore/uuid.h"
#include "common/logging/log.h"
#include "common/util/proto_time.h"
#include "services/cart/app/carts.h"
#include "services/cart/app/carts_internal.h"

namespace cart {

// One AddItem call, from its turn to its answer. Whoever holds the
// unique_ptr runs the next step; FinishAddItem consumes it, so the call is
// answered and its turn passed on exactly once.
class Carts::AddItemFlow final : public Waiter {
 public:
  enum class State {
    kQueued,             // waiting for the cart's turn
    kChecking,           // is the cart open, is the line already there
    kReserving,          // waiting for inventory
    kAppending,          // the line's append, from callbacks
    kAppendingOnWorker,  // the append retried on fresh loads
    kAnswered,
  };

  State state = State::kQueued;
  std::string cart_id;
  std::string product_id;
  int64_t quantity = 0;
  std::string warehouse_id;
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

void Carts::AddItem(std::string cart_id, std::string product_id,
                    int64_t quantity, std::string warehouse_id,
                    const std::string& request_id, CallContext context,
                    AddItemDone done) {
  auto flow = std::make_unique<AddItemFlow>();
  flow->reservation_id =
      ReservationIdFor(cart_id, product_id,
                       request_id.empty() ? eventstore::NewUuid() : request_id);
  flow->claimable = !request_id.empty();
  flow->cart_id = std::move(cart_id);
  flow->product_id = std::move(product_id);
  flow->quantity = quantity;
  flow->warehouse_id = std::move(warehouse_id);
  flow->context = std::move(context);
  flow->done = std::move(done);
  AddItemFlow* queued = flow.get();
  // The queue holds the flow by its waiter; its turn takes it back.
  queued->start = [this, queued](std::optional<Cached> cached) {
    std::unique_ptr<AddItemFlow> owned(queued);
    owned->turn.cached = std::move(cached);
    StartAddItem(std::move(owned));
  };
  Submit(queued->cart_id, flow.release());
}

void Carts::StartAddItem(std::unique_ptr<AddItemFlow> flow) {
  flow->state = AddItemFlow::State::kChecking;
  // A cached cart that lets the item in needs no database before the
  // reservation; anything else is checked on a fresh load, on a worker.
  if (flow->turn.cached.has_value()) {
    const Cached& cached = *flow->turn.cached;
    const std::optional<int64_t>& expected = flow->context.expected_version;
    if ((!expected.has_value() || *expected == cached.version) &&
        cached.state.FindLine(flow->reservation_id) == nullptr &&
        CheckOpen(flow->cart_id, cached.state).ok()) {
      absl::StatusOr<Current> current =
          Fetch(flow->turn, flow->cart_id, /*allow_cache=*/true);
      if (!current.ok()) {
        return FinishAddItem(std::move(flow), current.status());
      }
      flow->checked = *std::move(current);
      return Reserve(std::move(flow));
    }
  }
  workers_.Schedule([this, flow = std::move(flow)]() mutable {
    CheckAddItem(std::move(flow));
  });
}

void Carts::CheckAddItem(std::unique_ptr<AddItemFlow> flow) {
  // Checked before reserving; anything but "go ahead" is confirmed fresh.
  for (bool allow_cache : {true, false}) {
    absl::StatusOr<Current> current =
        Fetch(flow->turn, flow->cart_id, allow_cache);
    if (!current.ok()) return FinishAddItem(std::move(flow), current.status());
    const LoadedCart& loaded = current->loaded;
    absl::Status refusal = absl::OkStatus();
    if (flow->context.expected_version.has_value() &&
        *flow->context.expected_version != loaded.version) {
      refusal = eventstore::WrongExpectedVersionError(
          StreamOf(flow->cart_id),
          eventstore::ExpectedVersion::Exactly(*flow->context.expected_version),
          loaded.version);
    } else if (const Line* line = loaded.cart.FindLine(flow->reservation_id)) {
      // A retry of a call that already went through: same answer.
      if (!current->from_cache) {
        AddItemOutcome same{loaded.cart, loaded.version, *line, std::nullopt};
        return FinishAddItem(std::move(flow), std::move(same));
      }
      continue;
    } else {
      refusal = CheckOpen(flow->cart_id, loaded.cart);
    }
    if (refusal.ok()) {
      flow->checked = *std::move(current);
      return Reserve(std::move(flow));
    }
    if (!current->from_cache) return FinishAddItem(std::move(flow), refusal);
  }
}

void Carts::Reserve(std::unique_ptr<AddItemFlow> flow) {
  flow->state = AddItemFlow::State::kReserving;
  AddItemFlow& f = *flow;
  inventory_->Reserve(
      f.product_id, f.quantity, f.reservation_id,
      options_.reservation_ttl_seconds, f.warehouse_id,
      InventoryCallOf(f.context),
      [this, flow = std::move(flow)](
          absl::StatusOr<inventory::v1::ReserveStockResponse>
              reserved) mutable {
        if (!reserved.ok()) {
          const Fate fate =
              FateAfter(Step::kReserve, reserved.status(), flow->claimable);
          if (fate == Fate::kRelease) {
            // Released on a worker: this callback must not block.
            workers_.Schedule([this, product_id = flow->product_id,
                               reservation_id = flow->reservation_id,
                               context = flow->context,
                               cause = reserved.status()] {
              Settle(Fate::kRelease, product_id, reservation_id, context,
                     cause);
            });
          }
          // Nothing was written: the cart as checked is still current.
          const LoadedCart& loaded = flow->checked->loaded;
          flow->turn.after = Cached{loaded.cart, loaded.version};
          return FinishAddItem(std::move(flow), reserved.status());
        }
        flow->line = Line{flow->reservation_id, flow->product_id,
                          flow->quantity, reserved->unit_price_cents()};
        flow->expires_at = shop::FromProto(reserved->expires_at());
        AppendItem(std::move(flow));
      });
}

void Carts::AppendItem(std::unique_ptr<AddItemFlow> flow) {
  flow->state = AddItemFlow::State::kAppending;
  const LoadedCart& loaded = flow->checked->loaded;
  absl::StatusOr<std::vector<Event>> events =
      DecideAddItem(flow->cart_id, *flow->line, loaded.cart);
  if (!flow->checked->from_cache || !events.ok() || events->empty()) {
    // Decided on a fresh load, or to be confirmed on one: the waiting path.
    workers_.Schedule([this, flow = std::move(flow)]() mutable {
      AppendItemWaiting(std::move(flow));
    });
    return;
  }
  Cart after = loaded.cart;
  for (const Event& event : *events) after = Evolve(std::move(after), event);
  if (options_.before_add_append) options_.before_add_append();
  AddItemFlow& f = *flow;
  // The callback keeps a copy: the store still reads `after` while the
  // arguments are built.
  store_->AppendAsync(
      f.cart_id, loaded.version, *events, after, f.context.metadata,
      f.context.deadline.value_or(absl::InfiniteFuture()),
      [this, flow = std::move(flow),
       after](absl::StatusOr<eventstore::AppendResult> appended) mutable {
        if (!appended.ok()) {
          // A conflict: decided again on fresh loads, on a worker.
          workers_.Schedule([this, flow = std::move(flow)]() mutable {
            AppendItemWaiting(std::move(flow));
          });
          return;
        }
        flow->turn.after = Cached{after, appended->version};
        AddItemOutcome added{std::move(after), appended->version, *flow->line,
                             flow->expires_at, appended->position};
        FinishAddItem(std::move(flow), std::move(added));
      });
}

void Carts::AppendItemWaiting(std::unique_ptr<AddItemFlow> flow) {
  flow->state = AddItemFlow::State::kAppendingOnWorker;
  std::optional<Current> first;
  if (!flow->checked->from_cache) {
    first = std::exchange(flow->checked, std::nullopt);
  }
  const Line& line = *flow->line;
  absl::StatusOr<CartOutcome> outcome = Execute(
      flow->turn, flow->cart_id, flow->context, std::move(first),
      [&](const Cart& cart) {
        return DecideAddItem(flow->cart_id, line, cart);
      },
      options_.before_add_append);
  if (!outcome.ok()) {
    // A definite refusal leaves no cart showing the units; a lost answer
    // may hide a line that is in the cart.
    Settle(FateAfter(Step::kAppendAdd, outcome.status(), flow->claimable),
           flow->product_id, flow->reservation_id, flow->context,
           outcome.status());
    return FinishAddItem(std::move(flow), outcome.status());
  }
  AddItemOutcome added{std::move(outcome->cart), outcome->version, line,
                       flow->expires_at, outcome->position};
  FinishAddItem(std::move(flow), std::move(added));
}

void Carts::FinishAddItem(std::unique_ptr<AddItemFlow> flow,
                          absl::StatusOr<AddItemOutcome> result) {
  flow->state = AddItemFlow::State::kAnswered;
  std::move(flow->done)(std::move(result));
  EndTurn(flow->cart_id, std::move(flow->turn.after));
}

}  // namespace cart
