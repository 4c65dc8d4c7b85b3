// Owns the codec of a product's folded state, as the snapshot row and the
// historical checkpoints store it.
#include "services/inventory/store/product_snapshot.h"

#include <utility>

#include "common/util/proto_json.h"
#include "common/util/proto_time.h"

namespace inventory {
namespace {

template <typename Repeated>
Lines LinesOf(const Repeated& lines) {
  Lines out;
  for (const v1::WarehouseQuantity& line : lines) {
    out.push_back({WarehouseOr(line.warehouse_id()), line.quantity()});
  }
  return out;
}

// Lines wholly in main are left out: a snapshot from before warehouses
// reads the same way, so one rule serves both.
bool OnlyMain(const Lines& lines) {
  return lines.size() == 1 && lines[0].warehouse_id == kMainWarehouse;
}

}  // namespace

std::string SnapshotJson(const Product& product) {
  v1::ProductSnapshot snapshot;
  snapshot.set_name(product.name);
  snapshot.set_price_cents(product.price_cents);
  for (const auto& [id, stock] : product.warehouses()) {
    v1::ProductSnapshot::Warehouse& out = (*snapshot.mutable_warehouses())[id];
    out.set_on_hand(stock.on_hand);
    out.set_damaged(stock.damaged);
  }
  for (const auto& [id, reservation] : product.reservations()) {
    v1::ProductSnapshot::Reservation& out =
        (*snapshot.mutable_reservations())[id];
    out.set_quantity(reservation.quantity);
    *out.mutable_expires_at() = shop::ToProto(reservation.expires_at);
    if (!OnlyMain(reservation.lines)) {
      SetLines(reservation.lines, out.mutable_lines());
    }
  }
  for (const auto& [id, order] : product.orders()) {
    v1::ProductSnapshot::Order& out = (*snapshot.mutable_orders())[id];
    for (const auto& [warehouse, units] : order.committed) {
      v1::WarehouseQuantity* line = out.add_committed();
      line->set_warehouse_id(warehouse);
      line->set_quantity(units);
    }
    out.set_shipped(order.shipped);
    out.set_returned(order.returned);
    out.set_cancelled(order.cancelled);
  }
  for (const auto& [id, transfer] : product.transfers()) {
    v1::ProductSnapshot::Transfer& out = (*snapshot.mutable_transfers())[id];
    out.set_from_warehouse_id(transfer.from_warehouse_id);
    out.set_to_warehouse_id(transfer.to_warehouse_id);
    out.set_quantity(transfer.quantity);
  }
  return shop::ToJson(snapshot);
}

absl::StatusOr<Product> FromSnapshot(const std::string& json) {
  v1::ProductSnapshot snapshot;
  if (absl::Status status = shop::FromJson(json, &snapshot); !status.ok()) {
    return status;
  }
  Product product;
  product.exists = true;
  product.name = snapshot.name();
  product.price_cents = snapshot.price_cents();
  if (snapshot.warehouses().empty()) {
    // Written before warehouses: all of it is main.
    product.Stock(kMainWarehouse).on_hand = snapshot.on_hand();
  }
  for (const auto& [id, stock] : snapshot.warehouses()) {
    WarehouseStock& out = product.Stock(id);
    out.on_hand = stock.on_hand();
    out.damaged = stock.damaged();
  }
  for (const auto& [id, reservation] : snapshot.reservations()) {
    Lines lines = LinesOf(reservation.lines());
    if (lines.empty()) lines = {{kMainWarehouse, reservation.quantity()}};
    product.Hold(id, Reservation{reservation.quantity(),
                                 shop::FromProto(reservation.expires_at()),
                                 std::move(lines)});
  }
  // Committed and incoming are derived from the orders and transfers.
  for (const auto& [id, order] : snapshot.orders()) {
    OrderStock& out = product.Order(id);
    for (const Line& line : LinesOf(order.committed())) {
      out.committed[line.warehouse_id] += line.quantity;
      product.Stock(line.warehouse_id).committed += line.quantity;
    }
    out.shipped = order.shipped();
    out.returned = order.returned();
    out.cancelled = order.cancelled();
  }
  for (const auto& [id, transfer] : snapshot.transfers()) {
    // Dispatch takes the units from the source, whose on_hand the snapshot
    // already shows without them: put them back first.
    product.Stock(WarehouseOr(transfer.from_warehouse_id())).on_hand +=
        transfer.quantity();
    product.Dispatch(
        id, {WarehouseOr(transfer.from_warehouse_id()),
             WarehouseOr(transfer.to_warehouse_id()), transfer.quantity()});
  }
  return product;
}

}  // namespace inventory
