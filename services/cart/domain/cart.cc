#include "services/cart/domain/cart.h"

#include <algorithm>
#include <cstdint>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/errors/errors.h"
#include "common/util/event_codec.h"
#include "common/util/overloaded.h"

namespace cart {
namespace {

// In the order of the Event variant's alternatives.
constexpr shop::EventCodec<Event> kCodec("cart.created", "item.added",
                                         "item.removed", "checkout.started",
                                         "checkout.stopped", "cart.checked_out",
                                         "item.reduced");

}  // namespace

absl::Status CartNotFound(const std::string& cart_id) {
  return shop::MakeError(
      absl::StatusCode::kNotFound, kErrorDomain, "CART_NOT_FOUND",
      absl::StrCat("cart ", cart_id, " not found"), {{"cart_id", cart_id}});
}

namespace {

// FNV-1a over the parts with a separator, from a given offset basis.
uint64_t Fnv1a(uint64_t basis, std::initializer_list<absl::string_view> parts) {
  uint64_t hash = basis;
  for (absl::string_view part : parts) {
    for (unsigned char c : part) {
      hash ^= c;
      hash *= 0x100000001b3ULL;
    }
    hash ^= 0xff;  // separator: ("ab","c") and ("a","bc") differ
    hash *= 0x100000001b3ULL;
  }
  return hash;
}

}  // namespace

absl::string_view TypeOf(const Event& event) { return kCodec.TypeOf(event); }

std::string ToJson(const Event& event) { return kCodec.ToJson(event); }

absl::StatusOr<Event> FromJson(absl::string_view type, absl::string_view json) {
  return kCodec.FromJson(type, json);
}

const Line* Cart::FindLine(absl::string_view reservation_id) const {
  for (const Line& line : lines) {
    if (line.reservation_id == reservation_id) return &line;
  }
  return nullptr;
}

bool Cart::IsSold(absl::string_view reservation_id) const {
  return std::find(sold.begin(), sold.end(), reservation_id) != sold.end();
}

std::vector<Item> Cart::Items() const {
  std::vector<Item> items;
  for (const Line& line : lines) {
    Item* item = nullptr;
    for (Item& existing : items) {
      if (existing.product_id == line.product_id) item = &existing;
    }
    if (item == nullptr) {
      item = &items.emplace_back();
      item->product_id = line.product_id;
    }
    item->quantity += line.quantity;
    item->subtotal_cents += line.quantity * line.unit_price_cents;
    item->lines.push_back(line);
  }
  return items;
}

int64_t Cart::total_cents() const {
  int64_t total = 0;
  for (const Line& line : lines) total += line.quantity * line.unit_price_cents;
  return total;
}

Cart Evolve(Cart cart, const Event& event) {
  std::visit(shop::Overloaded{
                 [&](const v1::CartCreated& e) {
                   cart.exists = true;
                   cart.customer_id = e.customer_id();
                 },
                 [&](const v1::ItemAdded& e) {
                   cart.lines.push_back({e.reservation_id(), e.product_id(),
                                         e.quantity(), e.unit_price_cents()});
                 },
                 [&](const v1::ItemRemoved& e) {
                   std::erase_if(cart.lines, [&](const Line& line) {
                     return line.reservation_id == e.reservation_id();
                   });
                 },
                 [&](const v1::ItemReduced& e) {
                   for (Line& line : cart.lines) {
                     if (line.reservation_id != e.reservation_id()) continue;
                     line.quantity -= e.quantity();
                     line.releases.push_back({e.release_id(), e.quantity()});
                   }
                 },
                 [&](const v1::CheckoutStarted& e) {
                   cart.checkout_started = true;
                   cart.order_id = e.order_id();
                 },
                 [&](const v1::CheckoutStopped& e) {
                   cart.checkout_started = false;
                   for (const std::string& id : e.sold_reservation_ids()) {
                     if (!cart.IsSold(id)) cart.sold.push_back(id);
                   }
                 },
                 [&](const v1::CartCheckedOut& e) {
                   cart.checkout_started = false;
                   cart.checked_out = true;
                   cart.order_id = e.order_id();
                 },
             },
             event);
  return cart;
}

std::string StableId(absl::string_view prefix,
                     std::initializer_list<absl::string_view> parts) {
  std::vector<absl::string_view> reversed(parts);
  std::reverse(reversed.begin(), reversed.end());
  uint64_t backward = 0x84222325cbf29ce4ULL;
  for (absl::string_view part : reversed) backward = Fnv1a(backward, {part});
  return absl::StrFormat("%s-%016x%016x", prefix,
                         Fnv1a(0xcbf29ce484222325ULL, parts), backward);
}

std::string ReservationIdFor(absl::string_view cart_id,
                             absl::string_view product_id,
                             absl::string_view request_key) {
  return StableId("cr", {cart_id, product_id, request_key});
}

std::string ReleaseIdFor(absl::string_view reservation_id,
                         absl::string_view request_key) {
  return StableId("rl", {reservation_id, request_key});
}

std::string OrderIdFor(absl::string_view cart_id) {
  return absl::StrCat("order-", cart_id);
}

absl::StatusOr<std::vector<Event>> DecideCreate(const std::string& cart_id,
                                                const std::string& customer_id,
                                                const Cart& cart) {
  if (cart.exists) {
    return shop::MakeError(absl::StatusCode::kAlreadyExists, kErrorDomain,
                           "CART_EXISTS",
                           absl::StrCat("cart ", cart_id, " already exists"),
                           {{"cart_id", cart_id}});
  }
  v1::CartCreated created;
  created.set_customer_id(customer_id);
  return std::vector<Event>{created};
}

absl::Status CheckOpen(const std::string& cart_id, const Cart& cart) {
  if (!cart.exists) return CartNotFound(cart_id);
  if (cart.checked_out) {
    return shop::MakeError(
        absl::StatusCode::kFailedPrecondition, kErrorDomain, "CART_CHECKED_OUT",
        absl::StrCat("cart ", cart_id, " is checked out (order ", cart.order_id,
                     ") and cannot change"),
        {{"cart_id", cart_id}, {"order_id", cart.order_id}});
  }
  if (cart.checkout_started) {
    return shop::MakeError(
        absl::StatusCode::kFailedPrecondition, kErrorDomain,
        "CHECKOUT_IN_PROGRESS",
        absl::StrCat("cart ", cart_id, " is being checked out (order ",
                     cart.order_id,
                     ") and cannot change; call Checkout to finish it"),
        {{"cart_id", cart_id}, {"order_id", cart.order_id}});
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<Event>> DecideAddItem(const std::string& cart_id,
                                                 const Line& line,
                                                 const Cart& cart) {
  if (cart.FindLine(line.reservation_id) != nullptr) {
    return std::vector<Event>{};
  }
  if (absl::Status open = CheckOpen(cart_id, cart); !open.ok()) return open;
  v1::ItemAdded added;
  added.set_product_id(line.product_id);
  added.set_quantity(line.quantity);
  added.set_reservation_id(line.reservation_id);
  added.set_unit_price_cents(line.unit_price_cents);
  return std::vector<Event>{added};
}

namespace {

absl::Status ItemNotFound(const std::string& cart_id,
                          const std::string& product_id) {
  return shop::MakeError(
      absl::StatusCode::kNotFound, kErrorDomain, "ITEM_NOT_FOUND",
      absl::StrCat("product ", product_id, " is not in cart ", cart_id),
      {{"cart_id", cart_id}, {"product_id", product_id}});
}

absl::Status ItemSold(const std::string& cart_id,
                      const std::string& product_id) {
  return shop::MakeError(
      absl::StatusCode::kFailedPrecondition, kErrorDomain, "ITEM_SOLD",
      absl::StrCat("product ", product_id, " in cart ", cart_id,
                   " was sold by a checkout that stopped; check out again "
                   "to complete the order"),
      {{"cart_id", cart_id}, {"product_id", product_id}});
}

}  // namespace

absl::StatusOr<std::vector<Event>> DecideRemoveItem(
    const std::string& cart_id, const std::string& product_id,
    const Cart& cart) {
  if (absl::Status open = CheckOpen(cart_id, cart); !open.ok()) return open;
  std::vector<Event> events;
  for (const Line& line : cart.lines) {
    if (line.product_id != product_id) continue;
    if (cart.IsSold(line.reservation_id)) return ItemSold(cart_id, product_id);
    v1::ItemRemoved removed;
    removed.set_product_id(product_id);
    removed.set_reservation_id(line.reservation_id);
    events.push_back(std::move(removed));
  }
  if (events.empty()) return ItemNotFound(cart_id, product_id);
  return events;
}

absl::StatusOr<int64_t> DecideUnitsToReserve(const std::string& cart_id,
                                             const std::string& product_id,
                                             int64_t quantity,
                                             const Cart& cart) {
  if (absl::Status open = CheckOpen(cart_id, cart); !open.ok()) return open;
  int64_t shown = 0;
  bool found = false;
  for (const Line& line : cart.lines) {
    if (line.product_id != product_id) continue;
    if (cart.IsSold(line.reservation_id)) return ItemSold(cart_id, product_id);
    found = true;
    shown += line.quantity;
  }
  if (!found && quantity > 0) return ItemNotFound(cart_id, product_id);
  return std::max<int64_t>(0, quantity - shown);
}

absl::StatusOr<std::vector<Event>> DecideReduceItem(
    const std::string& cart_id, const std::string& product_id, int64_t quantity,
    absl::string_view request_key, const Cart& cart) {
  absl::StatusOr<int64_t> to_reserve =
      DecideUnitsToReserve(cart_id, product_id, quantity, cart);
  if (!to_reserve.ok()) return to_reserve.status();
  int64_t shown = 0;
  for (const Line& line : cart.lines) {
    if (line.product_id == product_id) shown += line.quantity;
  }
  int64_t surplus = shown - quantity;
  std::vector<Event> events;
  for (auto line = cart.lines.rbegin();
       line != cart.lines.rend() && surplus > 0; ++line) {
    if (line->product_id != product_id) continue;
    if (line->quantity <= surplus) {
      v1::ItemRemoved removed;
      removed.set_product_id(product_id);
      removed.set_reservation_id(line->reservation_id);
      events.push_back(std::move(removed));
      surplus -= line->quantity;
    } else {
      v1::ItemReduced reduced;
      reduced.set_product_id(product_id);
      reduced.set_reservation_id(line->reservation_id);
      reduced.set_quantity(surplus);
      reduced.set_release_id(ReleaseIdFor(line->reservation_id, request_key));
      events.push_back(std::move(reduced));
      surplus = 0;
    }
  }
  return events;
}

absl::Status CheckCanCheckout(const std::string& cart_id, const Cart& cart) {
  if (!cart.exists) return CartNotFound(cart_id);
  if (cart.checked_out) return absl::OkStatus();
  if (cart.lines.empty()) {
    return shop::MakeError(
        absl::StatusCode::kFailedPrecondition, kErrorDomain, "CART_EMPTY",
        absl::StrCat("cart ", cart_id, " is empty: nothing to check out"),
        {{"cart_id", cart_id}});
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<Event>> DecideStartCheckout(
    const std::string& cart_id, const Cart& cart) {
  if (absl::Status can = CheckCanCheckout(cart_id, cart); !can.ok()) return can;
  if (cart.checked_out || cart.checkout_started) return std::vector<Event>{};
  v1::CheckoutStarted started;
  started.set_order_id(OrderIdFor(cart_id));
  return std::vector<Event>{started};
}

absl::StatusOr<std::vector<Event>> DecideStopCheckout(
    const Cart& cart, const std::vector<RefusedLine>& refused,
    const std::vector<std::string>& sold) {
  if (!cart.checkout_started || refused.empty()) return std::vector<Event>{};
  std::vector<Event> events;
  for (const RefusedLine& line : refused) {
    v1::CheckoutStopped stopped;
    stopped.set_reservation_id(line.reservation_id);
    stopped.set_reason(line.reason);
    if (events.empty()) {
      for (const std::string& id : sold) stopped.add_sold_reservation_ids(id);
    }
    events.push_back(std::move(stopped));
  }
  return events;
}

absl::StatusOr<std::vector<Event>> DecideCheckout(const std::string& cart_id,
                                                  const Cart& cart) {
  if (absl::Status can = CheckCanCheckout(cart_id, cart); !can.ok()) return can;
  if (cart.checked_out) return std::vector<Event>{};
  v1::CartCheckedOut checked_out;
  checked_out.set_order_id(OrderIdFor(cart_id));
  return std::vector<Event>{checked_out};
}

}  // namespace cart
