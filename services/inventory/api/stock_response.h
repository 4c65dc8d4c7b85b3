#pragma once

#include <cstdint>
#include <string>

#include "services/inventory/domain/product.h"

namespace inventory {

// Copies a product's figures into a response with GetStockResponse's
// fields (GetStockResponse, GetStockAsOfResponse).
template <typename Response>
void FillStock(const std::string& product_id, const Product& product,
               int64_t version, Response* response) {
  response->set_product_id(product_id);
  response->set_name(product.name);
  response->set_price_cents(product.price_cents);
  response->set_on_hand(product.on_hand);
  response->set_reserved(product.reserved());
  response->set_available(product.available());
  response->set_version(version);
}

}  // namespace inventory
