#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/btree_map.h"
#include "absl/container/btree_set.h"
#include "absl/time/time.h"
#include "services/inventory/domain/events.h"

// A product as its history leaves it: stock per warehouse, live
// reservations, orders' commitments and transfers in transit; and the fold.
// Pure: no I/O and no clock.
namespace inventory {

// One warehouse's stock of a product (DESIGN.md "Locations and stock
// movements").
struct WarehouseStock {
  int64_t on_hand = 0;  // sellable units there, reserved and committed included
  int64_t reserved = 0;
  int64_t committed = 0;
  int64_t incoming = 0;
  int64_t damaged = 0;

  int64_t available() const {
    return std::max<int64_t>(0, on_hand - reserved - committed);
  }
  // Promised units that a count did not find.
  int64_t shortfall() const {
    return std::max<int64_t>(0, reserved + committed - on_hand);
  }
  WarehouseStock& operator+=(const WarehouseStock& other);
};

// Units of one movement in one warehouse.
struct Line {
  std::string warehouse_id;
  int64_t quantity = 0;

  friend bool operator==(const Line&, const Line&) = default;
};
using Lines = std::vector<Line>;

// Writes `lines` into a repeated WarehouseQuantity of an event or snapshot.
template <typename Repeated>
void SetLines(const Lines& lines, Repeated* out) {
  for (const Line& line : lines) {
    v1::WarehouseQuantity* added = out->Add();
    added->set_warehouse_id(line.warehouse_id);
    added->set_quantity(line.quantity);
  }
}

struct Reservation {
  int64_t quantity = 0;
  absl::Time expires_at;
  // Where the units are held, in the order they were allocated.
  Lines lines;
};

// What an order holds of this product.
struct OrderStock {
  // Committed and not shipped, by warehouse.
  absl::btree_map<std::string, int64_t> committed;
  int64_t shipped = 0;
  int64_t returned = 0;
  bool cancelled = false;

  int64_t unshipped() const;
};

struct Transfer {
  std::string from_warehouse_id;
  std::string to_warehouse_id;
  int64_t quantity = 0;
};

class Product {
 public:
  bool exists = false;
  std::string name;
  int64_t price_cents = 0;

  // Every warehouse the product has been in, by id.
  const absl::btree_map<std::string, WarehouseStock>& warehouses() const {
    return warehouses_;
  }
  // A warehouse's stock (zero when the product was never there).
  WarehouseStock At(const std::string& warehouse_id) const;
  // The sums over the warehouses.
  WarehouseStock Totals() const;
  int64_t on_hand() const { return Totals().on_hand; }
  int64_t reserved() const { return Totals().reserved; }
  int64_t available() const;

  // Live reservations by id (ordered so the snapshot is deterministic).
  const absl::btree_map<std::string, Reservation>& reservations() const {
    return reservations_;
  }
  // The live reservations, soonest to expire first.
  const absl::btree_set<std::pair<absl::Time, std::string>>& by_expiry() const {
    return by_expiry_;
  }
  const absl::btree_map<std::string, OrderStock>& orders() const {
    return orders_;
  }
  // Transfers dispatched and not received yet.
  const absl::btree_map<std::string, Transfer>& transfers() const {
    return transfers_;
  }
  // When the earliest live reservation runs out, if any is live.
  std::optional<absl::Time> next_expiry() const;
  // Whether the state itself shows `key` (a live reservation, a transfer in
  // transit): only keys that it does not show are looked up in history.
  bool Shows(const HistoryKey& key) const;

  // The fold's and the snapshot codec's changes.
  WarehouseStock& Stock(const std::string& warehouse_id) {
    return warehouses_[warehouse_id];
  }
  // Holds a reservation (its lines count as reserved).
  void Hold(const std::string& id, Reservation reservation);
  // Ends a live reservation and returns it (nullopt if it was not live).
  std::optional<Reservation> Drop(const std::string& id);
  // Gives back `lines` of a live reservation, ending it when none is left.
  void Shrink(const std::string& id, const Lines& lines);
  OrderStock& Order(const std::string& order_id) { return orders_[order_id]; }
  void Dispatch(const std::string& id, Transfer transfer);
  std::optional<Transfer> Arrive(const std::string& id);

 private:
  absl::btree_map<std::string, WarehouseStock> warehouses_;
  absl::btree_map<std::string, Reservation> reservations_;
  absl::btree_set<std::pair<absl::Time, std::string>> by_expiry_;
  absl::btree_map<std::string, OrderStock> orders_;
  absl::btree_map<std::string, Transfer> transfers_;
};

// A warehouse id as stored: empty (events from before warehouses) is main.
const std::string& WarehouseOr(const std::string& warehouse_id);

// Folds one event into the state.
Product Evolve(Product product, const Event& event);

}  // namespace inventory
