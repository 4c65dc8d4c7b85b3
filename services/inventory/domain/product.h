#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "absl/container/btree_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "inventory/v1/events.pb.h"

// The inventory domain: product events, the fold, and the rules. Pure: no
// I/O and no clock (callers pass `now`).
namespace inventory {

inline constexpr char kErrorDomain[] = "inventory.v1";

using Event =
    std::variant<v1::ProductAdded, v1::StockReceived, v1::StockReserved,
                 v1::StockReleased, v1::ReservationExpired, v1::StockCommitted>;

// The stored type name, e.g. "stock.reserved".
absl::string_view TypeOf(const Event& event);
// The payload as JSON (protobuf JSON mapping, every field printed).
std::string ToJson(const Event& event);
// The inverse of (TypeOf, ToJson).
absl::StatusOr<Event> FromJson(absl::string_view type, absl::string_view json);

struct Reservation {
  int64_t quantity = 0;
  absl::Time expires_at;
};

// A product as its history leaves it.
struct Product {
  bool exists = false;
  std::string name;
  int64_t price_cents = 0;
  int64_t on_hand = 0;
  // Live reservations by id (ordered so the snapshot is deterministic).
  absl::btree_map<std::string, Reservation> reservations;

  int64_t reserved() const;
  int64_t available() const { return on_hand - reserved(); }
  // When the earliest live reservation runs out, if any is live.
  std::optional<absl::Time> next_expiry() const;
};

// Folds one event into the state.
Product Evolve(Product product, const Event& event);

// What became of a reservation id that is not live: ids are never reused.
enum class PastReservation { kNone, kReleased, kExpired, kCommitted };

struct AddProduct {
  std::string name;
  int64_t price_cents = 0;
  int64_t initial_quantity = 0;
};
struct ReceiveStock {
  int64_t quantity = 0;
  std::string reference;
};
struct ReserveStock {
  int64_t quantity = 0;
  std::string reservation_id;
  absl::Duration ttl;
};

// Each Decide returns the events to append; none means the command was
// already carried out (an idempotent repeat).
absl::StatusOr<std::vector<Event>> Decide(const std::string& product_id,
                                          const AddProduct& command,
                                          const Product& product);
absl::StatusOr<std::vector<Event>> Decide(const std::string& product_id,
                                          const ReceiveStock& command,
                                          const Product& product);
// Overdue reservations are expired first, so stock that is due back counts.
absl::StatusOr<std::vector<Event>> Decide(const std::string& product_id,
                                          const ReserveStock& command,
                                          const Product& product,
                                          PastReservation past, absl::Time now);
absl::StatusOr<std::vector<Event>> DecideRelease(
    const std::string& product_id, const std::string& reservation_id,
    const Product& product, PastReservation past);
absl::StatusOr<std::vector<Event>> DecideCommit(
    const std::string& product_id, const std::string& reservation_id,
    const Product& product, PastReservation past, absl::Time now);
// Expires every reservation whose time has come.
std::vector<Event> DecideExpire(const Product& product, absl::Time now);

}  // namespace inventory
