#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "services/inventory/domain/product.h"

namespace inventory {

// The product's folded state as JSON (a v1::ProductSnapshot).
std::string SnapshotJson(const Product& product);
// The inverse; snapshots written before warehouses read as warehouse main.
absl::StatusOr<Product> FromSnapshot(const std::string& json);

}  // namespace inventory
