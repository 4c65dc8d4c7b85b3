#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "absl/container/btree_map.h"
#include "absl/container/btree_set.h"
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

// A product as its history leaves it. Totals and the expiry order are kept
// with the reservations, so no decision walks every live reservation.
class Product {
 public:
  bool exists = false;
  std::string name;
  int64_t price_cents = 0;
  int64_t on_hand = 0;

  // Live reservations by id (ordered so the snapshot is deterministic).
  const absl::btree_map<std::string, Reservation>& reservations() const {
    return reservations_;
  }
  // The live reservations, soonest to expire first.
  const absl::btree_set<std::pair<absl::Time, std::string>>& by_expiry() const {
    return by_expiry_;
  }
  void Hold(const std::string& id, Reservation reservation);
  // Returns the units the reservation held (0 if it was not live).
  int64_t Drop(const std::string& id);

  int64_t reserved() const { return reserved_; }
  int64_t available() const { return on_hand - reserved_; }
  // When the earliest live reservation runs out, if any is live.
  std::optional<absl::Time> next_expiry() const;

 private:
  absl::btree_map<std::string, Reservation> reservations_;
  absl::btree_set<std::pair<absl::Time, std::string>> by_expiry_;
  int64_t reserved_ = 0;
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
// Bounds the events of one decision; the sweep comes back for the rest.
inline constexpr size_t kMaxExpiriesPerDecision = 100;

// Expires the reservations whose time has come, soonest first, at most
// kMaxExpiriesPerDecision of them.
std::vector<Event> DecideExpire(const Product& product, absl::Time now);

}  // namespace inventory
