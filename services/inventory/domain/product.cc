// Owns a product's state and the fold of every event into it.
#include "services/inventory/domain/product.h"

#include <utility>

#include "common/util/overloaded.h"
#include "common/util/proto_time.h"

namespace inventory {
namespace {

// An event's lines; none (an event from before warehouses) means `fallback`.
template <typename Repeated>
Lines LinesOr(const Repeated& lines, const Lines& fallback) {
  if (lines.empty()) return fallback;
  Lines out;
  out.reserve(lines.size());
  for (const v1::WarehouseQuantity& line : lines) {
    out.push_back({WarehouseOr(line.warehouse_id()), line.quantity()});
  }
  return out;
}

}  // namespace

WarehouseStock& WarehouseStock::operator+=(const WarehouseStock& other) {
  on_hand += other.on_hand;
  reserved += other.reserved;
  committed += other.committed;
  incoming += other.incoming;
  damaged += other.damaged;
  return *this;
}

int64_t OrderStock::unshipped() const {
  int64_t total = 0;
  for (const auto& [warehouse, quantity] : committed) total += quantity;
  return total;
}

const std::string& WarehouseOr(const std::string& warehouse_id) {
  static const auto* const kMain = new std::string(kMainWarehouse);
  return warehouse_id.empty() ? *kMain : warehouse_id;
}

WarehouseStock Product::At(const std::string& warehouse_id) const {
  auto it = warehouses_.find(warehouse_id);
  return it == warehouses_.end() ? WarehouseStock{} : it->second;
}

WarehouseStock Product::Totals() const {
  WarehouseStock totals;
  for (const auto& [id, stock] : warehouses_) totals += stock;
  return totals;
}

int64_t Product::available() const {
  int64_t total = 0;
  for (const auto& [id, stock] : warehouses_) total += stock.available();
  return total;
}

std::optional<absl::Time> Product::next_expiry() const {
  if (by_expiry_.empty()) return std::nullopt;
  return by_expiry_.begin()->first;
}

bool Product::Shows(const HistoryKey& key) const {
  switch (key.kind) {
    case IdKind::kReservation:
      return reservations_.contains(key.id);
    case IdKind::kTransfer:
      return transfers_.contains(key.id);
    default:
      return false;
  }
}

void Product::Hold(const std::string& id, Reservation reservation) {
  Drop(id);
  for (const Line& line : reservation.lines) {
    warehouses_[line.warehouse_id].reserved += line.quantity;
  }
  by_expiry_.emplace(reservation.expires_at, id);
  reservations_.emplace(id, std::move(reservation));
}

std::optional<Reservation> Product::Drop(const std::string& id) {
  auto it = reservations_.find(id);
  if (it == reservations_.end()) return std::nullopt;
  Reservation reservation = std::move(it->second);
  for (const Line& line : reservation.lines) {
    warehouses_[line.warehouse_id].reserved -= line.quantity;
  }
  by_expiry_.erase({reservation.expires_at, id});
  reservations_.erase(it);
  return reservation;
}

void Product::Shrink(const std::string& id, const Lines& lines) {
  auto it = reservations_.find(id);
  if (it == reservations_.end()) return;
  Reservation& reservation = it->second;
  for (const Line& given : lines) {
    warehouses_[given.warehouse_id].reserved -= given.quantity;
    reservation.quantity -= given.quantity;
    for (Line& held : reservation.lines) {
      if (held.warehouse_id == given.warehouse_id) {
        held.quantity -= given.quantity;
        break;
      }
    }
  }
  std::erase_if(reservation.lines,
                [](const Line& line) { return line.quantity <= 0; });
  if (reservation.quantity <= 0) {
    by_expiry_.erase({reservation.expires_at, id});
    reservations_.erase(it);
  }
}

void Product::Dispatch(const std::string& id, Transfer transfer) {
  warehouses_[transfer.from_warehouse_id].on_hand -= transfer.quantity;
  warehouses_[transfer.to_warehouse_id].incoming += transfer.quantity;
  transfers_[id] = std::move(transfer);
}

std::optional<Transfer> Product::Arrive(const std::string& id) {
  auto it = transfers_.find(id);
  if (it == transfers_.end()) return std::nullopt;
  Transfer transfer = std::move(it->second);
  transfers_.erase(it);
  warehouses_[transfer.to_warehouse_id].incoming -= transfer.quantity;
  return transfer;
}

Product Evolve(Product product, const Event& event) {
  std::visit(
      shop::Overloaded{
          [&](const v1::ProductAdded& e) {
            product.exists = true;
            product.name = e.name();
            product.price_cents = e.price_cents();
            product.Stock(kMainWarehouse).on_hand += e.quantity();
          },
          [&](const v1::StockReceived& e) {
            product.Stock(WarehouseOr(e.warehouse_id())).on_hand +=
                e.quantity();
          },
          [&](const v1::StockReserved& e) {
            product.Hold(
                e.reservation_id(),
                {e.quantity(), shop::FromProto(e.expires_at()),
                 LinesOr(e.lines(), {{kMainWarehouse, e.quantity()}})});
          },
          [&](const v1::StockReleased& e) {
            if (e.lines().empty()) {
              product.Drop(e.reservation_id());  // all of it, before warehouses
            } else {
              product.Shrink(e.reservation_id(), LinesOr(e.lines(), {}));
            }
          },
          [&](const v1::ReservationExpired& e) {
            product.Drop(e.reservation_id());
          },
          [&](const v1::StockCommitted& e) {
            std::optional<Reservation> held = product.Drop(e.reservation_id());
            const Lines lines =
                LinesOr(e.lines(), held.has_value() ? held->lines : Lines{});
            for (const Line& line : lines) {
              WarehouseStock& stock = product.Stock(line.warehouse_id);
              if (e.order_id().empty()) {
                stock.on_hand -= line.quantity;  // sold and gone, as then
              } else {
                stock.committed += line.quantity;
                product.Order(e.order_id()).committed[line.warehouse_id] +=
                    line.quantity;
              }
            }
          },
          [&](const v1::StockShipped& e) {
            OrderStock& order = product.Order(e.order_id());
            for (const Line& line : LinesOr(e.lines(), {})) {
              WarehouseStock& stock = product.Stock(line.warehouse_id);
              stock.committed -= line.quantity;
              stock.on_hand -= line.quantity;
              if ((order.committed[line.warehouse_id] -= line.quantity) <= 0) {
                order.committed.erase(line.warehouse_id);
              }
            }
            order.shipped += e.quantity();
          },
          [&](const v1::CommitmentCancelled& e) {
            OrderStock& order = product.Order(e.order_id());
            for (const Line& line : LinesOr(e.lines(), {})) {
              product.Stock(line.warehouse_id).committed -= line.quantity;
              if ((order.committed[line.warehouse_id] -= line.quantity) <= 0) {
                order.committed.erase(line.warehouse_id);
              }
            }
            order.cancelled = true;
          },
          [&](const v1::StockReturned& e) {
            product.Order(e.order_id()).returned += e.quantity();
            WarehouseStock& stock =
                product.Stock(WarehouseOr(e.warehouse_id()));
            if (e.condition() == v1::RETURN_CONDITION_RESELLABLE) {
              stock.on_hand += e.quantity();
            } else if (e.condition() == v1::RETURN_CONDITION_DAMAGED) {
              stock.damaged += e.quantity();
            }
          },
          [&](const v1::TransferDispatched& e) {
            product.Dispatch(e.transfer_id(),
                             {WarehouseOr(e.from_warehouse_id()),
                              WarehouseOr(e.to_warehouse_id()), e.quantity()});
          },
          [&](const v1::TransferReceived& e) {
            product.Arrive(e.transfer_id());
            product.Stock(WarehouseOr(e.to_warehouse_id())).on_hand +=
                e.quantity_received();
          },
          [&](const v1::StockAdjusted& e) {
            WarehouseStock& stock =
                product.Stock(WarehouseOr(e.warehouse_id()));
            if (e.bucket() == v1::STOCK_BUCKET_DAMAGED) {
              stock.damaged += e.delta();
            } else {
              stock.on_hand += e.delta();
            }
          },
      },
      event);
  return product;
}

}  // namespace inventory
