#pragma once

// Owns what the files of Carts share: the waiters of a cart's turn.

#include <optional>
#include <string>
#include <utility>

#include "absl/functional/any_invocable.h"
#include "absl/synchronization/notification.h"
#include "services/cart/app/carts.h"

namespace cart {

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

}  // namespace cart
