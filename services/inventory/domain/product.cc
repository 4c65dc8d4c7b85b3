#include "services/inventory/domain/product.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/errors/errors.h"
#include "common/util/overloaded.h"
#include "common/util/proto_json.h"
#include "common/util/proto_time.h"

namespace inventory {
namespace {

absl::Status ProductNotFound(const std::string& product_id) {
  return shop::MakeError(absl::StatusCode::kNotFound, kErrorDomain,
                         "PRODUCT_NOT_FOUND",
                         absl::StrCat("product ", product_id, " not found"),
                         {{"product_id", product_id}});
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
absl::Status EndedReservation(PastReservation past,
                              const std::string& product_id,
                              const std::string& reservation_id) {
  switch (past) {
    case PastReservation::kReleased:
      return ReservationError(absl::StatusCode::kFailedPrecondition,
                              "RESERVATION_RELEASED", product_id,
                              reservation_id, "was released");
    case PastReservation::kExpired:
      return ReservationError(absl::StatusCode::kFailedPrecondition,
                              "RESERVATION_EXPIRED", product_id, reservation_id,
                              "has expired");
    case PastReservation::kCommitted:
      return ReservationError(absl::StatusCode::kFailedPrecondition,
                              "RESERVATION_COMMITTED", product_id,
                              reservation_id, "was already sold");
    case PastReservation::kNone:
      break;
  }
  return ReservationError(absl::StatusCode::kNotFound, "RESERVATION_NOT_FOUND",
                          product_id, reservation_id, "not found");
}

template <typename T>
absl::StatusOr<Event> Parse(absl::string_view json) {
  T message;
  if (absl::Status status = shop::FromJson(json, &message); !status.ok()) {
    return status;
  }
  return Event(std::move(message));
}

}  // namespace

absl::string_view TypeOf(const Event& event) {
  return std::visit(
      shop::Overloaded{
          [](const v1::ProductAdded&) { return "product.added"; },
          [](const v1::StockReceived&) { return "stock.received"; },
          [](const v1::StockReserved&) { return "stock.reserved"; },
          [](const v1::StockReleased&) { return "stock.released"; },
          [](const v1::ReservationExpired&) { return "reservation.expired"; },
          [](const v1::StockCommitted&) { return "stock.committed"; },
      },
      event);
}

std::string ToJson(const Event& event) {
  return std::visit([](const auto& message) { return shop::ToJson(message); },
                    event);
}

absl::StatusOr<Event> FromJson(absl::string_view type, absl::string_view json) {
  if (type == "product.added") return Parse<v1::ProductAdded>(json);
  if (type == "stock.received") return Parse<v1::StockReceived>(json);
  if (type == "stock.reserved") return Parse<v1::StockReserved>(json);
  if (type == "stock.released") return Parse<v1::StockReleased>(json);
  if (type == "reservation.expired") return Parse<v1::ReservationExpired>(json);
  if (type == "stock.committed") return Parse<v1::StockCommitted>(json);
  return absl::DataLossError(absl::StrCat("unknown event type '", type, "'"));
}

void Product::Hold(const std::string& id, Reservation reservation) {
  Drop(id);
  reserved_ += reservation.quantity;
  by_expiry_.emplace(reservation.expires_at, id);
  reservations_.emplace(id, reservation);
}

int64_t Product::Drop(const std::string& id) {
  auto it = reservations_.find(id);
  if (it == reservations_.end()) return 0;
  const int64_t quantity = it->second.quantity;
  reserved_ -= quantity;
  by_expiry_.erase({it->second.expires_at, id});
  reservations_.erase(it);
  return quantity;
}

std::optional<absl::Time> Product::next_expiry() const {
  if (by_expiry_.empty()) return std::nullopt;
  return by_expiry_.begin()->first;
}

Product Evolve(Product product, const Event& event) {
  std::visit(
      shop::Overloaded{
          [&](const v1::ProductAdded& e) {
            product.exists = true;
            product.name = e.name();
            product.price_cents = e.price_cents();
            product.on_hand = e.quantity();
          },
          [&](const v1::StockReceived& e) { product.on_hand += e.quantity(); },
          [&](const v1::StockReserved& e) {
            product.Hold(
                e.reservation_id(),
                Reservation{e.quantity(), shop::FromProto(e.expires_at())});
          },
          [&](const v1::StockReleased& e) { product.Drop(e.reservation_id()); },
          [&](const v1::ReservationExpired& e) {
            product.Drop(e.reservation_id());
          },
          [&](const v1::StockCommitted& e) {
            product.Drop(e.reservation_id());
            product.on_hand -= e.quantity();
          },
      },
      event);
  return product;
}

absl::StatusOr<std::vector<Event>> Decide(const std::string& product_id,
                                          const AddProduct& command,
                                          const Product& product) {
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

absl::StatusOr<std::vector<Event>> Decide(const std::string& product_id,
                                          const ReceiveStock& command,
                                          const Product& product) {
  if (!product.exists) return ProductNotFound(product_id);
  v1::StockReceived received;
  received.set_quantity(command.quantity);
  received.set_reference(command.reference);
  return std::vector<Event>{received};
}

absl::StatusOr<std::vector<Event>> Decide(const std::string& product_id,
                                          const ReserveStock& command,
                                          const Product& product,
                                          PastReservation past,
                                          absl::Time now) {
  if (!product.exists) return ProductNotFound(product_id);
  auto live = product.reservations().find(command.reservation_id);
  if (live != product.reservations().end()) {
    // Overdue but not yet swept: as good as expired, as for a commit.
    if (live->second.expires_at <= now) {
      return EndedReservation(PastReservation::kExpired, product_id,
                              command.reservation_id);
    }
    if (live->second.quantity == command.quantity) return std::vector<Event>{};
    return shop::MakeError(
        absl::StatusCode::kFailedPrecondition, kErrorDomain,
        "RESERVATION_MISMATCH",
        absl::StrCat("reservation ", command.reservation_id, " of ", product_id,
                     " already holds ", live->second.quantity, " units, not ",
                     command.quantity),
        {{"product_id", product_id},
         {"reservation_id", command.reservation_id},
         {"held", absl::StrCat(live->second.quantity)}});
  }
  if (past != PastReservation::kNone) {
    return EndedReservation(past, product_id, command.reservation_id);
  }
  std::vector<Event> events = DecideExpire(product, now);
  int64_t available = product.available();
  for (const Event& event : events) {
    available += std::get<v1::ReservationExpired>(event).quantity();
  }
  if (available < command.quantity) {
    return shop::MakeError(
        absl::StatusCode::kFailedPrecondition, kErrorDomain,
        "INSUFFICIENT_STOCK",
        absl::StrCat("insufficient stock for ", product_id, ": requested ",
                     command.quantity, ", available ", available),
        {{"product_id", product_id},
         {"requested", absl::StrCat(command.quantity)},
         {"available", absl::StrCat(available)}});
  }
  v1::StockReserved reserved;
  reserved.set_quantity(command.quantity);
  reserved.set_reservation_id(command.reservation_id);
  *reserved.mutable_expires_at() = shop::ToProto(now + command.ttl);
  events.push_back(std::move(reserved));
  return events;
}

absl::StatusOr<std::vector<Event>> DecideRelease(
    const std::string& product_id, const std::string& reservation_id,
    const Product& product, PastReservation past) {
  if (!product.exists) return ProductNotFound(product_id);
  auto live = product.reservations().find(reservation_id);
  if (live != product.reservations().end()) {
    v1::StockReleased released;
    released.set_quantity(live->second.quantity);
    released.set_reservation_id(reservation_id);
    return std::vector<Event>{released};
  }
  // The units are already back: releasing again changes nothing.
  if (past == PastReservation::kReleased || past == PastReservation::kExpired) {
    return std::vector<Event>{};
  }
  return EndedReservation(past, product_id, reservation_id);
}

absl::StatusOr<std::vector<Event>> DecideCommit(
    const std::string& product_id, const std::string& reservation_id,
    const Product& product, PastReservation past, absl::Time now) {
  if (!product.exists) return ProductNotFound(product_id);
  auto live = product.reservations().find(reservation_id);
  if (live != product.reservations().end()) {
    if (live->second.expires_at <= now) {
      return EndedReservation(PastReservation::kExpired, product_id,
                              reservation_id);
    }
    v1::StockCommitted committed;
    committed.set_quantity(live->second.quantity);
    committed.set_reservation_id(reservation_id);
    return std::vector<Event>{committed};
  }
  if (past == PastReservation::kCommitted) return std::vector<Event>{};
  return EndedReservation(past, product_id, reservation_id);
}

std::vector<Event> DecideExpire(const Product& product, absl::Time now) {
  std::vector<Event> events;
  for (const auto& [expires_at, id] : product.by_expiry()) {
    if (expires_at > now || events.size() == kMaxExpiriesPerDecision) break;
    v1::ReservationExpired expired;
    expired.set_quantity(product.reservations().at(id).quantity);
    expired.set_reservation_id(id);
    events.push_back(std::move(expired));
  }
  return events;
}

}  // namespace inventory
