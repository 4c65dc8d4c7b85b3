// Owns UpdateItemQuantity: raising reserves the extra units in inventory
// before the cart shows them; lowering shows fewer first and then gives
// the surplus back, whole reservations or parts of one.
#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "common/eventstore/uuid.h"
#include "common/logging/log.h"
#include "services/cart/app/carts.h"
#include "services/cart/app/carts_internal.h"

namespace cart {
namespace {

// Whether `cart` shows what `event` (item.removed or item.reduced) did.
bool Shows(const Cart& cart, const Event& event) {
  if (const auto* removed = std::get_if<v1::ItemRemoved>(&event)) {
    return cart.FindLine(removed->reservation_id()) == nullptr;
  }
  const auto& reduced = std::get<v1::ItemReduced>(event);
  const Line* line = cart.FindLine(reduced.reservation_id());
  if (line == nullptr) return true;
  for (const PartialRelease& release : line->releases) {
    if (release.release_id == reduced.release_id()) return true;
  }
  return false;
}

}  // namespace

absl::StatusOr<inventory::v1::ReserveStockResponse> Carts::ReserveAndWait(
    const std::string& product_id, int64_t quantity,
    const std::string& reservation_id, const CallContext& context) {
  absl::Notification answered;
  absl::StatusOr<inventory::v1::ReserveStockResponse> result;
  inventory_->Reserve(
      product_id, quantity, reservation_id, options_.reservation_ttl_seconds,
      /*warehouse_id=*/"", InventoryCallOf(context),
      [&](absl::StatusOr<inventory::v1::ReserveStockResponse> reserved) {
        result = std::move(reserved);
        answered.Notify();
      });
  answered.WaitForNotification();
  return result;
}

absl::Status Carts::Rerelease(const Line& line, const CallContext& context) {
  for (const PartialRelease& release : line.releases) {
    absl::Status released = inventory_->Release(
        line.product_id, line.reservation_id, release.quantity,
        release.release_id, InventoryCallOf(context));
    if (!released.ok()) return released;
  }
  return absl::OkStatus();
}

absl::StatusOr<CartOutcome> Carts::UpdateItemQuantity(
    const std::string& cart_id, const std::string& product_id, int64_t quantity,
    const std::string& request_id, const CallContext& context) {
  HeldTurn turn(*this, cart_id);
  absl::StatusOr<Current> current =
      Fetch(turn.state(), cart_id, /*allow_cache=*/false);
  if (!current.ok()) return current.status();
  const LoadedCart& loaded = current->loaded;
  if (context.expected_version.has_value() &&
      *context.expected_version != loaded.version) {
    return eventstore::WrongExpectedVersionError(
        StreamOf(cart_id),
        eventstore::ExpectedVersion::Exactly(*context.expected_version),
        loaded.version);
  }
  absl::StatusOr<int64_t> to_reserve =
      DecideUnitsToReserve(cart_id, product_id, quantity, loaded.cart);
  if (!to_reserve.ok()) return to_reserve.status();
  const bool claimable = !request_id.empty();
  const std::string request_key =
      claimable ? request_id : eventstore::NewUuid();

  if (*to_reserve > 0) {
    // A retry with the same request id claims the same reservation.
    const std::string reservation_id = ReservationIdFor(
        cart_id, product_id, absl::StrCat("update/", request_key));
    absl::StatusOr<inventory::v1::ReserveStockResponse> reserved =
        ReserveAndWait(product_id, *to_reserve, reservation_id, context);
    if (!reserved.ok()) {
      Settle(FateAfter(Step::kReserve, reserved.status(), claimable),
             product_id, reservation_id, context, reserved.status());
      return reserved.status();
    }
    const Line line{reservation_id, product_id, *to_reserve,
                    reserved->unit_price_cents()};
    absl::StatusOr<CartOutcome> outcome = Execute(
        turn.state(), cart_id, context, *std::move(current),
        [&](const Cart& cart) { return DecideAddItem(cart_id, line, cart); },
        nullptr);
    if (!outcome.ok()) {
      Settle(FateAfter(Step::kAppendAdd, outcome.status(), claimable),
             product_id, reservation_id, context, outcome.status());
    }
    return outcome;
  }

  std::vector<Event> decided;
  absl::StatusOr<CartOutcome> outcome = Execute(
      turn.state(), cart_id, context, *std::move(current),
      [&](const Cart& cart) -> absl::StatusOr<std::vector<Event>> {
        absl::StatusOr<std::vector<Event>> events =
            DecideReduceItem(cart_id, product_id, quantity, request_key, cart);
        decided = events.ok() ? *events : std::vector<Event>{};
        return events;
      },
      nullptr);
  Fate fate = FateAfter(Step::kAppendRemove, outcome.status(),
                        /*claimable=*/false);
  if (fate == Fate::kReleaseIfGone && !decided.empty()) {
    // The change may have landed with its answer lost: a fresh load says.
    absl::StatusOr<LoadedCart> now = store_->Load(cart_id);
    const bool landed =
        now.ok() &&
        std::all_of(decided.begin(), decided.end(), [&](const Event& event) {
          return Shows(now->cart, event);
        });
    if (landed) outcome = CartOutcome{std::move(now->cart), now->version};
    fate = landed ? Fate::kRelease : Fate::kKeep;
  }
  // Given back after the cart stopped showing the units: a failure here
  // leaves them held until the reservation expires, or, for a part, until
  // checkout asks again.
  for (const Event& event : decided) {
    if (const auto* removed = std::get_if<v1::ItemRemoved>(&event)) {
      Settle(fate, product_id, removed->reservation_id(), context,
             outcome.status());
      continue;
    }
    const auto& reduced = std::get<v1::ItemReduced>(event);
    if (fate != Fate::kRelease) continue;
    absl::Status released = inventory_->Release(
        product_id, reduced.reservation_id(), reduced.quantity(),
        reduced.release_id(), InventoryCall{context.metadata, std::nullopt});
    if (!released.ok()) {
      counters_.release_failed->Increment();
      shop::LogJson("warn",
                    absl::StrCat("release ", reduced.release_id(), " of ",
                                 reduced.reservation_id(),
                                 " left for checkout: ", released.ToString()));
    }
  }
  return outcome;
}

}  // namespace cart
