// Owns the rules of a product's creation and of reservations: reserve
// (with the allocation over warehouses), release, commit, expire.
#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/errors/errors.h"
#include "common/util/proto_time.h"
#include "services/inventory/domain/commands.h"
#include "services/inventory/domain/domain_errors.h"

namespace inventory {
namespace {

// What became of a reservation id that is not live: ids are never reused.
enum class Ended { kNone, kReleased, kExpired, kCommitted };

Ended EndedOf(const Past& past) {
  if (!past.has_value()) return Ended::kNone;
  if (std::holds_alternative<v1::StockReleased>(past->event)) {
    return Ended::kReleased;
  }
  if (std::holds_alternative<v1::ReservationExpired>(past->event)) {
    return Ended::kExpired;
  }
  if (std::holds_alternative<v1::StockCommitted>(past->event)) {
    return Ended::kCommitted;
  }
  return Ended::kNone;
}

absl::Status ReservationError(absl::StatusCode code, absl::string_view reason,
                              const std::string& product_id,
                              const std::string& reservation_id,
                              absl::string_view what) {
  return shop::MakeError(
      code, kErrorDomain, reason,
      absl::StrCat("reservation ", reservation_id, " of ", product_id, " ",
                   what),
      {{"product_id", product_id}, {"reservation_id", reservation_id}});
}

// The refusal for an id whose reservation has ended, when reusing it.
absl::Status EndedReservation(Ended ended, const std::string& product_id,
                              const std::string& reservation_id) {
  switch (ended) {
    case Ended::kReleased:
      return ReservationError(absl::StatusCode::kFailedPrecondition,
                              "RESERVATION_RELEASED", product_id,
                              reservation_id, "was released");
    case Ended::kExpired:
      return ReservationError(absl::StatusCode::kFailedPrecondition,
                              "RESERVATION_EXPIRED", product_id, reservation_id,
                              "has expired");
    case Ended::kCommitted:
      return ReservationError(absl::StatusCode::kFailedPrecondition,
                              "RESERVATION_COMMITTED", product_id,
                              reservation_id, "was already sold");
    case Ended::kNone:
      break;
  }
  return ReservationError(absl::StatusCode::kNotFound, "RESERVATION_NOT_FOUND",
                          product_id, reservation_id, "not found");
}

// Whether all of `lines` are in `warehouse_id`.
bool AllIn(const Lines& lines, const std::string& warehouse_id) {
  return std::all_of(lines.begin(), lines.end(), [&](const Line& line) {
    return line.warehouse_id == warehouse_id;
  });
}

// The last `quantity` units of `lines` (the last allocated go back first).
Lines LastUnits(const Lines& lines, int64_t quantity) {
  Lines taken;
  for (auto it = lines.rbegin(); it != lines.rend() && quantity > 0; ++it) {
    const int64_t units = std::min(quantity, it->quantity);
    taken.push_back({it->warehouse_id, units});
    quantity -= units;
  }
  return taken;
}

}  // namespace

HistoryNeed HistoryNeedOf(const AddProductCommand&) { return {}; }
HistoryNeed HistoryNeedOf(const ExpireCommand&) { return {}; }

HistoryNeed HistoryNeedOf(const ReserveStockCommand& command) {
  // A new id is the common case: history is asked only once the
  // reservation_once index has said the id was used before.
  return {HistoryKey{IdKind::kReservation, command.reservation_id, ""}, false};
}

HistoryNeed HistoryNeedOf(const ReleaseStockCommand& command) {
  if (!command.release_id.empty()) {
    return {HistoryKey{IdKind::kRelease, command.release_id,
                       command.reservation_id},
            true};
  }
  return {HistoryKey{IdKind::kReservation, command.reservation_id, ""}, true};
}

HistoryNeed HistoryNeedOf(const CommitReservationCommand& command) {
  return {HistoryKey{IdKind::kReservation, command.reservation_id, ""}, true};
}

Decision Decide(const std::string& product_id, const AddProductCommand& command,
                const Product& product, const Facts& /*facts*/) {
  if (product.exists) {
    return shop::MakeError(
        absl::StatusCode::kAlreadyExists, kErrorDomain, "PRODUCT_EXISTS",
        absl::StrCat("product ", product_id, " already exists"),
        {{"product_id", product_id}});
  }
  v1::ProductAdded added;
  added.set_name(command.name);
  added.set_price_cents(command.price_cents);
  added.set_quantity(command.initial_quantity);
  return std::vector<Event>{added};
}

Lines Allocate(const Product& product, int64_t quantity) {
  std::vector<std::pair<int64_t, std::string>> order;
  for (const auto& [id, stock] : product.warehouses()) {
    if (stock.available() > 0) order.push_back({stock.available(), id});
  }
  // Most available first, ties by id.
  std::sort(order.begin(), order.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first > b.first : a.second < b.second;
  });
  if (!order.empty() && order.front().first >= quantity) {
    return {{order.front().second, quantity}};
  }
  Lines lines;
  int64_t left = quantity;
  for (const auto& [available, id] : order) {
    if (left == 0) break;
    const int64_t units = std::min(available, left);
    lines.push_back({id, units});
    left -= units;
  }
  if (left > 0) return {};
  return lines;
}

Decision Decide(const std::string& product_id,
                const ReserveStockCommand& command, const Product& product,
                const Facts& facts) {
  if (!product.exists) return errors::ProductNotFound(product_id);
  auto live = product.reservations().find(command.reservation_id);
  if (live != product.reservations().end()) {
    // Overdue but not yet swept: as good as expired, as for a commit.
    if (live->second.expires_at <= facts.now) {
      return EndedReservation(Ended::kExpired, product_id,
                              command.reservation_id);
    }
    const bool same_place = command.warehouse_id.empty() ||
                            AllIn(live->second.lines, command.warehouse_id);
    if (live->second.quantity == command.quantity && same_place) {
      return std::vector<Event>{};
    }
    return shop::MakeError(
        absl::StatusCode::kFailedPrecondition, kErrorDomain,
        "RESERVATION_MISMATCH",
        absl::StrCat("reservation ", command.reservation_id, " of ", product_id,
                     " already holds ", live->second.quantity, " units",
                     same_place ? "" : " elsewhere", ", not ", command.quantity,
                     same_place ? "" : " at ", command.warehouse_id),
        {{"product_id", product_id},
         {"reservation_id", command.reservation_id},
         {"held", absl::StrCat(live->second.quantity)}});
  }
  if (Ended ended = EndedOf(facts.past); ended != Ended::kNone) {
    return EndedReservation(ended, product_id, command.reservation_id);
  }
  std::vector<Event> events = DecideExpire(product, facts.now);
  // Decided on the state the expiries leave (copied only when there are).
  std::optional<Product> expired;
  if (!events.empty()) {
    expired = product;
    for (const Event& event : events)
      expired = Evolve(*std::move(expired), event);
  }
  const Product& after = expired.has_value() ? *expired : product;
  Lines lines;
  if (!command.warehouse_id.empty()) {
    const int64_t available = after.At(command.warehouse_id).available();
    if (available < command.quantity) {
      return errors::InsufficientStock(product_id, command.warehouse_id,
                                       command.quantity, available);
    }
    lines = {{command.warehouse_id, command.quantity}};
  } else {
    lines = Allocate(after, command.quantity);
    if (lines.empty()) {
      return errors::InsufficientStock(product_id, "", command.quantity,
                                       after.available());
    }
  }
  v1::StockReserved reserved;
  reserved.set_quantity(command.quantity);
  reserved.set_reservation_id(command.reservation_id);
  *reserved.mutable_expires_at() = shop::ToProto(facts.now + command.ttl);
  SetLines(lines, reserved.mutable_lines());
  events.push_back(std::move(reserved));
  return events;
}

Decision Decide(const std::string& product_id,
                const ReleaseStockCommand& command, const Product& product,
                const Facts& facts) {
  if (!product.exists) return errors::ProductNotFound(product_id);
  // A partial release found in history by its own id is a repeat.
  if (facts.past.has_value() && !command.release_id.empty()) {
    if (const auto* first = std::get_if<v1::StockReleased>(&facts.past->event);
        first != nullptr && first->release_id() == command.release_id) {
      if (first->reservation_id() != command.reservation_id) {
        return errors::Mismatch(
            "RELEASE_MISMATCH", product_id, "release", command.release_id,
            "reservation_id", first->reservation_id(), command.reservation_id);
      }
      if (command.quantity.has_value() &&
          first->quantity() != *command.quantity) {
        return errors::Mismatch("RELEASE_MISMATCH", product_id, "release",
                                command.release_id, "quantity",
                                absl::StrCat(first->quantity()),
                                absl::StrCat(*command.quantity));
      }
      return std::vector<Event>{};
    }
  }
  auto live = product.reservations().find(command.reservation_id);
  if (live != product.reservations().end()) {
    const Reservation& held = live->second;
    const int64_t quantity = command.quantity.value_or(held.quantity);
    if (quantity > held.quantity) {
      return shop::MakeError(
          absl::StatusCode::kFailedPrecondition, kErrorDomain,
          "RELEASE_EXCEEDS_RESERVATION",
          absl::StrCat("reservation ", command.reservation_id, " of ",
                       product_id, " holds ", held.quantity,
                       " units, cannot release ", quantity),
          {{"product_id", product_id},
           {"reservation_id", command.reservation_id},
           {"held", absl::StrCat(held.quantity)}});
    }
    v1::StockReleased released;
    released.set_quantity(quantity);
    released.set_reservation_id(command.reservation_id);
    SetLines(LastUnits(held.lines, quantity), released.mutable_lines());
    released.set_remaining(held.quantity - quantity);
    released.set_release_id(command.release_id);
    return std::vector<Event>{released};
  }
  // The units are already back: releasing again changes nothing.
  const Ended ended = EndedOf(facts.past);
  if (ended == Ended::kReleased || ended == Ended::kExpired) {
    return std::vector<Event>{};
  }
  return EndedReservation(ended, product_id, command.reservation_id);
}

Decision Decide(const std::string& product_id,
                const CommitReservationCommand& command, const Product& product,
                const Facts& facts) {
  if (!product.exists) return errors::ProductNotFound(product_id);
  if (auto order = product.orders().find(command.order_id);
      order != product.orders().end() && order->second.cancelled) {
    return errors::Refused("ORDER_CANCELLED", product_id,
                           absl::StrCat("order ", command.order_id, " of ",
                                        product_id, " was cancelled"));
  }
  auto live = product.reservations().find(command.reservation_id);
  if (live != product.reservations().end()) {
    if (live->second.expires_at <= facts.now) {
      return EndedReservation(Ended::kExpired, product_id,
                              command.reservation_id);
    }
    v1::StockCommitted committed;
    committed.set_quantity(live->second.quantity);
    committed.set_reservation_id(command.reservation_id);
    committed.set_order_id(command.order_id);
    SetLines(live->second.lines, committed.mutable_lines());
    return std::vector<Event>{committed};
  }
  if (EndedOf(facts.past) == Ended::kCommitted) {
    const auto& first = std::get<v1::StockCommitted>(facts.past->event);
    if (!first.order_id().empty() && first.order_id() != command.order_id) {
      return errors::Mismatch("RESERVATION_MISMATCH", product_id, "reservation",
                              command.reservation_id, "order_id",
                              first.order_id(), command.order_id);
    }
    return std::vector<Event>{};
  }
  return EndedReservation(EndedOf(facts.past), product_id,
                          command.reservation_id);
}

Decision Decide(const std::string& /*product_id*/,
                const ExpireCommand& /*command*/, const Product& product,
                const Facts& facts) {
  return DecideExpire(product, facts.now);
}

std::vector<Event> DecideExpire(const Product& product, absl::Time now) {
  std::vector<Event> events;
  for (const auto& [expires_at, id] : product.by_expiry()) {
    if (expires_at > now || events.size() == kMaxExpiriesPerDecision) break;
    const Reservation& held = product.reservations().at(id);
    v1::ReservationExpired expired;
    expired.set_quantity(held.quantity);
    expired.set_reservation_id(id);
    SetLines(held.lines, expired.mutable_lines());
    events.push_back(std::move(expired));
  }
  return events;
}

}  // namespace inventory
