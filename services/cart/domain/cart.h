#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "cart/v1/events.pb.h"

// The cart domain: cart events, the fold, and the rules. Pure: no I/O.
namespace cart {

inline constexpr char kErrorDomain[] = "cart.v1";

using Event = std::variant<v1::CartCreated, v1::ItemAdded, v1::ItemRemoved,
                           v1::CheckoutStarted, v1::CheckoutStopped,
                           v1::CartCheckedOut, v1::ItemReduced>;

absl::string_view TypeOf(const Event& event);
std::string ToJson(const Event& event);
absl::StatusOr<Event> FromJson(absl::string_view type, absl::string_view json);

// Units a line gave back to inventory under their own release id.
struct PartialRelease {
  std::string release_id;
  int64_t quantity = 0;
};

// Units of one product held in inventory under one reservation.
struct Line {
  std::string reservation_id;
  std::string product_id;
  int64_t quantity = 0;
  int64_t unit_price_cents = 0;
  // What the line gave back since it was added; asked again before the
  // reservation is sold, so that a release lost on its way is not sold.
  std::vector<PartialRelease> releases;
};

// A product in the cart: its lines summed.
struct Item {
  std::string product_id;
  int64_t quantity = 0;
  int64_t subtotal_cents = 0;
  std::vector<Line> lines;  // in the order they were added
};

struct Cart {
  bool exists = false;
  std::string customer_id;
  std::vector<Line> lines;  // live reservations, in the order added
  // Lines are being committed as sales: nothing but Checkout may follow.
  bool checkout_started = false;
  // Lines a stopped checkout sold: they stay until the order is complete.
  std::vector<std::string> sold;
  bool checked_out = false;
  std::string order_id;

  const Line* FindLine(absl::string_view reservation_id) const;
  bool IsSold(absl::string_view reservation_id) const;
  // Items grouped by product, in the order each product was first added.
  std::vector<Item> Items() const;
  int64_t total_cents() const;
};

Cart Evolve(Cart cart, const Event& event);

// A 35-byte id that only these parts give ("{prefix}-" and 32 hex digits):
// for ids that must be the same on every retry and unique per owner.
std::string StableId(absl::string_view prefix,
                     std::initializer_list<absl::string_view> parts);

// The reservation id for units added to `cart_id` under `request_key`:
// the same inputs always give the same id, so a retried AddItem finds its
// first reservation instead of making another. At most 35 bytes.
std::string ReservationIdFor(absl::string_view cart_id,
                             absl::string_view product_id,
                             absl::string_view request_key);

// The id of the release of part of `reservation_id` under `request_key`.
std::string ReleaseIdFor(absl::string_view reservation_id,
                         absl::string_view request_key);

// The order id a cart's checkout creates (a cart checks out once).
std::string OrderIdFor(absl::string_view cart_id);

// NOT_FOUND / CART_NOT_FOUND: the one way the cart says a cart is missing.
absl::Status CartNotFound(const std::string& cart_id);

absl::StatusOr<std::vector<Event>> DecideCreate(const std::string& cart_id,
                                                const std::string& customer_id,
                                                const Cart& cart);
// Whether lines may still change: the cart exists, is open, and no
// checkout has started.
absl::Status CheckOpen(const std::string& cart_id, const Cart& cart);
// After inventory reserved `line`: records it, or nothing if already there.
absl::StatusOr<std::vector<Event>> DecideAddItem(const std::string& cart_id,
                                                 const Line& line,
                                                 const Cart& cart);
// Removes every line of the product; the caller then releases them.
absl::StatusOr<std::vector<Event>> DecideRemoveItem(
    const std::string& cart_id, const std::string& product_id,
    const Cart& cart);
// UpdateItemQuantity: units of `product_id` to reserve before the cart
// shows `quantity` of them (0 when it shows as many or more). Refuses a
// cart that cannot change, a product not in it (unless `quantity` is 0)
// and a product a stopped checkout sold.
absl::StatusOr<int64_t> DecideUnitsToReserve(const std::string& cart_id,
                                             const std::string& product_id,
                                             int64_t quantity,
                                             const Cart& cart);
// UpdateItemQuantity lowering the product to `quantity`: the newest lines
// go first, whole (item.removed) or in part (item.reduced, released under
// an id from `request_key`). Nothing when the cart shows no more.
absl::StatusOr<std::vector<Event>> DecideReduceItem(
    const std::string& cart_id, const std::string& product_id, int64_t quantity,
    absl::string_view request_key, const Cart& cart);
// Refuses a cart that cannot be checked out; an already checked-out cart
// is fine (the checkout is repeated, not redone).
absl::Status CheckCanCheckout(const std::string& cart_id, const Cart& cart);
// Freezes the cart before its lines are committed; nothing if it already is.
absl::StatusOr<std::vector<Event>> DecideStartCheckout(
    const std::string& cart_id, const Cart& cart);
// A line inventory refused to sell, and inventory's reason.
struct RefusedLine {
  std::string reservation_id;
  std::string reason;
};
// After inventory refused to sell the lines `refused` (at least one) and
// sold the lines `sold`: the cart may change again, except for the sold
// lines. One event per refused line; the first names the sold lines.
absl::StatusOr<std::vector<Event>> DecideStopCheckout(
    const Cart& cart, const std::vector<RefusedLine>& refused,
    const std::vector<std::string>& sold);
// After inventory committed every line: closes the cart.
absl::StatusOr<std::vector<Event>> DecideCheckout(const std::string& cart_id,
                                                  const Cart& cart);

}  // namespace cart
