#pragma once

#include "common/console/console.h"
#include "common/eventstore/feed.h"
#include "services/cart/api/cart_service.h"
#include "services/cart/api/order_service.h"
#include "services/cart/inventory_client/inventory_events.h"

namespace cart {

// The cart console's JSON endpoints: the read methods of the two services
// at /api/cart.v1.<Service>/<Method>, one correlation id's events of the
// cart and of inventory in time order at /api/correlation, and the cart's
// feed or inventory's (`service=inventory`) at /api/live.
shop::console::Routes ConsoleApi(CartServiceImpl* carts,
                                 OrderServiceImpl* orders,
                                 eventstore::Feed* feed,
                                 InventoryEvents* inventory);

}  // namespace cart
