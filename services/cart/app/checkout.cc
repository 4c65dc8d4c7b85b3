// Owns Checkout: the freeze, the concurrent commits of the lines, and the
// stop (some lines refused) or the close (every line sold).
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/errors/errors.h"
#include "common/logging/log.h"
#include "services/cart/app/carts.h"
#include "services/cart/app/carts_internal.h"

namespace cart {

std::vector<absl::Status> Carts::CommitLines(const std::vector<Line>& lines,
                                             const std::string& order_id,
                                             const CallContext& context) {
  // The answers, filled by inventory's callbacks; the caller's thread waits.
  struct Answers {
    absl::Mutex mu;
    std::vector<absl::Status> statuses ABSL_GUARDED_BY(mu);
    size_t pending ABSL_GUARDED_BY(mu) = 0;
  };
  auto answers = std::make_shared<Answers>();
  {
    absl::MutexLock lock(&answers->mu);
    answers->statuses.resize(lines.size());
    answers->pending = lines.size();
  }
  const InventoryCall call = InventoryCallOf(context);
  for (size_t i = 0; i < lines.size(); ++i) {
    // A part given back must be given back before the rest is sold: a
    // release lost on its way would otherwise be sold with it.
    if (absl::Status given_back = Rerelease(lines[i], context);
        !given_back.ok()) {
      absl::MutexLock lock(&answers->mu);
      answers->statuses[i] = std::move(given_back);
      --answers->pending;
      continue;
    }
    inventory_->Commit(lines[i].product_id, lines[i].reservation_id, order_id,
                       call, [answers, i](absl::Status committed) {
                         absl::MutexLock lock(&answers->mu);
                         answers->statuses[i] = std::move(committed);
                         --answers->pending;
                       });
  }
  absl::MutexLock lock(&answers->mu);
  answers->mu.Await(absl::Condition(
      +[](size_t* pending) { return *pending == 0; }, &answers->pending));
  return std::move(answers->statuses);
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
  const std::vector<Line>& lines = started->cart.lines;
  const std::vector<absl::Status> committed =
      CommitLines(lines, OrderIdFor(cart_id), context);
  std::vector<std::string> sold;
  std::vector<RefusedLine> refused;
  absl::Status first_refusal = absl::OkStatus();
  absl::Status first_other = absl::OkStatus();
  for (size_t i = 0; i < lines.size(); ++i) {
    const absl::Status& status = committed[i];
    if (status.ok()) {
      sold.push_back(lines[i].reservation_id);
    } else if (status.code() == absl::StatusCode::kFailedPrecondition) {
      refused.push_back({lines[i].reservation_id, shop::ReasonOf(status)});
      if (first_refusal.ok()) first_refusal = status;
    } else if (first_other.ok()) {
      first_other = status;
    }
  }
  // A line whose sale is unknown may be sold: the cart stays frozen, and a
  // retried checkout learns its fate from inventory.
  if (!first_other.ok()) {
    counters_.checkouts_unfinished->Increment();
    return first_other;
  }
  if (!refused.empty()) {
    counters_.checkouts_stopped->Increment();
    // The refused lines can never be sold: the cart is unfrozen so that
    // they can be removed, keeping the lines sold.
    absl::StatusOr<CartOutcome> stopped = Execute(
        turn.state(), cart_id, finishing, std::nullopt,
        [&](const Cart& cart) {
          return DecideStopCheckout(cart, refused, sold);
        },
        nullptr);
    if (!stopped.ok()) {
      shop::LogJson("warn",
                    absl::StrCat("cart ", cart_id, " stays in checkout: ",
                                 stopped.status().ToString()));
    }
    return first_refusal;
  }
  // Decided on the cart as started (its append checks the version).
  const std::string order_id = OrderIdFor(cart_id);
  absl::StatusOr<CartOutcome> closed = Execute(
      turn.state(), cart_id, finishing,
      Current{LoadedCart{std::move(started->cart), started->version},
              /*from_cache=*/true},
      [&](const Cart& cart) { return DecideCheckout(cart_id, cart); }, nullptr,
      &order_id);
  (closed.ok() ? counters_.checkouts_completed : counters_.checkouts_unfinished)
      ->Increment();
  return closed;
}

}  // namespace cart
