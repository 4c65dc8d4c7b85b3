#include "tests/e2e/inventory/stock_fold.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/json_util.h"
#include "inventory/v1/events.pb.h"

namespace shop::testing {
namespace {

using namespace inventory::v1;  // NOLINT: the event payloads, read only

template <typename T>
absl::Status Parse(const RecordedEvent& recorded, T* message) {
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  auto status = google::protobuf::util::JsonStringToMessage(
      recorded.data_json(), message, options);
  if (!status.ok()) {
    return absl::DataLossError(absl::StrCat(
        recorded.type(), " v", recorded.version(), ": ", status.ToString()));
  }
  return absl::OkStatus();
}

std::string Where(const std::string& warehouse_id) {
  return warehouse_id.empty() ? "main" : warehouse_id;
}

}  // namespace

std::ostream& operator<<(std::ostream& out, const Figures& f) {
  return out << "{on_hand " << f.on_hand << ", reserved " << f.reserved
             << ", committed " << f.committed << ", available " << f.available
             << ", incoming " << f.incoming << ", damaged " << f.damaged
             << ", shortfall " << f.shortfall << "}";
}

absl::Status StockFold::Apply(const RecordedEvent& recorded) {
  const std::string& type = recorded.type();
  const int64_t version = recorded.version();
  if (type == "product.added") {
    ProductAdded e;
    if (auto s = Parse(recorded, &e); !s.ok()) return s;
    places_["main"].on_hand += e.quantity();
  } else if (type == "stock.received") {
    StockReceived e;
    if (auto s = Parse(recorded, &e); !s.ok()) return s;
    places_[Where(e.warehouse_id())].on_hand += e.quantity();
  } else if (type == "stock.reserved") {
    StockReserved e;
    if (auto s = Parse(recorded, &e); !s.ok()) return s;
    Lines& lines = reservations_[e.reservation_id()];
    int64_t sum = 0;
    for (const WarehouseQuantity& line : e.lines()) {
      lines[Where(line.warehouse_id())] += line.quantity();
      sum += line.quantity();
    }
    if (e.lines().empty()) lines["main"] += e.quantity();
    if (!e.lines().empty() && sum != e.quantity()) {
      violations_.push_back(absl::StrCat("v", version, ": reservation ",
                                         e.reservation_id(), " lines sum to ",
                                         sum, ", not ", e.quantity()));
    }
  } else if (type == "stock.released" || type == "reservation.expired") {
    std::string id;
    google::protobuf::RepeatedPtrField<WarehouseQuantity> given;
    if (type == "stock.released") {
      StockReleased e;
      if (auto s = Parse(recorded, &e); !s.ok()) return s;
      id = e.reservation_id();
      given = e.lines();
    } else {
      ReservationExpired e;
      if (auto s = Parse(recorded, &e); !s.ok()) return s;
      id = e.reservation_id();
      given = e.lines();
    }
    auto live = reservations_.find(id);
    if (live == reservations_.end()) {
      violations_.push_back(
          absl::StrCat("v", version, ": ", type, " of unknown ", id));
    } else if (given.empty()) {
      reservations_.erase(live);
    } else {
      for (const WarehouseQuantity& line : given) {
        live->second[Where(line.warehouse_id())] -= line.quantity();
      }
      std::erase_if(live->second,
                    [](const auto& kv) { return kv.second == 0; });
      if (live->second.empty()) reservations_.erase(live);
    }
  } else if (type == "stock.committed") {
    StockCommitted e;
    if (auto s = Parse(recorded, &e); !s.ok()) return s;
    if (++commits_of_reservation_[e.reservation_id()] > 1) {
      violations_.push_back(absl::StrCat("v", version, ": reservation ",
                                         e.reservation_id(), " sold twice"));
    }
    auto live = reservations_.find(e.reservation_id());
    Lines lines = live != reservations_.end() ? live->second : Lines{};
    if (!e.lines().empty()) {
      lines.clear();
      for (const WarehouseQuantity& line : e.lines()) {
        lines[Where(line.warehouse_id())] += line.quantity();
      }
    }
    if (live != reservations_.end()) reservations_.erase(live);
    if (e.order_id().empty()) {
      // Before orders, a sale took the units off hand at once.
      for (const auto& [where, units] : lines) places_[where].on_hand -= units;
    } else {
      Order& order = orders_[e.order_id()];
      for (const auto& [where, units] : lines) {
        order.committed[where] += units;
        order.committed_total += units;
      }
    }
  } else if (type == "stock.shipped") {
    StockShipped e;
    if (auto s = Parse(recorded, &e); !s.ok()) return s;
    Order& order = orders_[e.order_id()];
    for (const WarehouseQuantity& line : e.lines()) {
      order.committed[Where(line.warehouse_id())] -= line.quantity();
      places_[Where(line.warehouse_id())].on_hand -= line.quantity();
    }
    order.shipped += e.quantity();
    if (order.shipped > order.committed_total) {
      violations_.push_back(absl::StrCat("v", version, ": order ", e.order_id(),
                                         " shipped more than it bought"));
    }
  } else if (type == "commitment.cancelled") {
    CommitmentCancelled e;
    if (auto s = Parse(recorded, &e); !s.ok()) return s;
    Order& order = orders_[e.order_id()];
    for (const WarehouseQuantity& line : e.lines()) {
      order.committed[Where(line.warehouse_id())] -= line.quantity();
    }
  } else if (type == "stock.returned") {
    StockReturned e;
    if (auto s = Parse(recorded, &e); !s.ok()) return s;
    Order& order = orders_[e.order_id()];
    order.returned += e.quantity();
    if (order.returned > order.shipped) {
      violations_.push_back(absl::StrCat("v", version, ": order ", e.order_id(),
                                         " returned more than it shipped"));
    }
    Place& place = places_[Where(e.warehouse_id())];
    if (e.condition() == RETURN_CONDITION_RESELLABLE)
      place.on_hand += e.quantity();
    if (e.condition() == RETURN_CONDITION_DAMAGED)
      place.damaged += e.quantity();
  } else if (type == "transfer.dispatched") {
    TransferDispatched e;
    if (auto s = Parse(recorded, &e); !s.ok()) return s;
    places_[Where(e.from_warehouse_id())].on_hand -= e.quantity();
    places_[Where(e.to_warehouse_id())].incoming += e.quantity();
    transfers_[e.transfer_id()] = e;
  } else if (type == "transfer.received") {
    TransferReceived e;
    if (auto s = Parse(recorded, &e); !s.ok()) return s;
    auto sent = transfers_.find(e.transfer_id());
    if (sent == transfers_.end()) {
      violations_.push_back(absl::StrCat("v", version, ": transfer ",
                                         e.transfer_id(),
                                         " received twice "
                                         "or never sent"));
    } else {
      Place& to = places_[Where(sent->second.to_warehouse_id())];
      to.incoming -= sent->second.quantity();
      to.on_hand += e.quantity_received();
      if (e.quantity_received() + e.quantity_lost() !=
          sent->second.quantity()) {
        violations_.push_back(absl::StrCat(
            "v", version, ": transfer ", e.transfer_id(), " does not add up"));
      }
      transfers_.erase(sent);
    }
  } else if (type == "stock.adjusted") {
    StockAdjusted e;
    if (auto s = Parse(recorded, &e); !s.ok()) return s;
    Place& place = places_[Where(e.warehouse_id())];
    int64_t& bucket =
        e.bucket() == STOCK_BUCKET_DAMAGED ? place.damaged : place.on_hand;
    if (e.previous_quantity() != bucket ||
        e.new_quantity() != bucket + e.delta()) {
      violations_.push_back(absl::StrCat(
          "v", version, ": adjustment from ", e.previous_quantity(), " to ",
          e.new_quantity(), " by ", e.delta(), " where the fold had ", bucket));
    }
    bucket += e.delta();
  } else {
    return absl::DataLossError(
        absl::StrCat("v", version, ": unknown type ", type));
  }
  Check(type, version);
  return absl::OkStatus();
}

void StockFold::Check(const std::string& what, int64_t version) {
  for (const auto& [where, figures] : Warehouses()) {
    if (figures.on_hand < 0 || figures.reserved < 0 || figures.committed < 0 ||
        figures.incoming < 0 || figures.damaged < 0) {
      violations_.push_back(absl::StrCat("v", version, " (", what, "): ", where,
                                         " has a negative figure"));
    }
  }
}

std::map<std::string, Figures> StockFold::Warehouses() const {
  std::map<std::string, Figures> out;
  for (const auto& [where, place] : places_) {
    Figures& f = out[where];
    f.on_hand = place.on_hand;
    f.damaged = place.damaged;
    f.incoming = place.incoming;
  }
  for (const auto& [id, lines] : reservations_) {
    for (const auto& [where, units] : lines) out[where].reserved += units;
  }
  for (const auto& [id, order] : orders_) {
    for (const auto& [where, units] : order.committed) {
      out[where].committed += units;
    }
  }
  for (auto& [where, f] : out) {
    const int64_t free = f.on_hand - f.reserved - f.committed;
    f.available = std::max<int64_t>(free, 0);
    f.shortfall = std::max<int64_t>(-free, 0);
  }
  return out;
}

Figures StockFold::Totals() const {
  Figures total;
  for (const auto& [where, f] : Warehouses()) {
    total.on_hand += f.on_hand;
    total.reserved += f.reserved;
    total.committed += f.committed;
    total.available += f.available;
    total.incoming += f.incoming;
    total.damaged += f.damaged;
    total.shortfall += f.shortfall;
  }
  return total;
}

}  // namespace shop::testing
