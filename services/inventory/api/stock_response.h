#pragma once

#include <cstdint>
#include <string>

#include "inventory/v1/inventory.pb.h"
#include "services/inventory/domain/product.h"

namespace inventory {

// One warehouse's figures as the API shows them.
inline void FillWarehouse(const std::string& warehouse_id,
                          const WarehouseStock& stock,
                          v1::WarehouseStock* out) {
  out->set_warehouse_id(warehouse_id);
  out->set_on_hand(stock.on_hand);
  out->set_reserved(stock.reserved);
  out->set_committed(stock.committed);
  out->set_available(stock.available());
  out->set_incoming(stock.incoming);
  out->set_damaged(stock.damaged);
  out->set_shortfall(stock.shortfall());
}

// Copies a product's figures into a response with GetStockResponse's
// fields (GetStockResponse, GetStockAsOfResponse): totals, which are the
// warehouses' sums, and each warehouse.
template <typename Response>
void FillStock(const std::string& product_id, const Product& product,
               int64_t version, Response* response) {
  response->set_product_id(product_id);
  response->set_name(product.name);
  response->set_price_cents(product.price_cents);
  const WarehouseStock totals = product.Totals();
  response->set_on_hand(totals.on_hand);
  response->set_reserved(totals.reserved);
  response->set_committed(totals.committed);
  response->set_incoming(totals.incoming);
  response->set_damaged(totals.damaged);
  int64_t available = 0;
  int64_t shortfall = 0;
  for (const auto& [id, stock] : product.warehouses()) {
    available += stock.available();
    shortfall += stock.shortfall();
    FillWarehouse(id, stock, response->add_warehouses());
  }
  response->set_available(available);
  response->set_shortfall(shortfall);
  response->set_version(version);
}

}  // namespace inventory
