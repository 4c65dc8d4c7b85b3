#pragma once

#include <string>

#include "absl/status/status.h"
#include "services/cart/domain/cart.h"

namespace cart {

// The cart's folded state as JSON (a v1::CartSnapshot).
std::string SnapshotJson(const Cart& cart);
// The inverse, into `cart` (which it marks existing).
absl::Status Restore(const std::string& json, Cart* cart);

}  // namespace cart
