#pragma once

#include "common/console/console.h"
#include "common/eventstore/feed.h"
#include "services/inventory/api/inventory_service.h"
#include "services/inventory/app/stock_history.h"

namespace inventory {

// The inventory console's JSON endpoints: the read methods of `service` at
// /api/inventory.v1.InventoryService/<Method>, a product's figures over
// time at /api/stock_series, one correlation id's events at
// /api/correlation, and the feed at /api/live.
shop::console::Routes ConsoleApi(InventoryServiceImpl* service,
                                 StockHistory* history, eventstore::Feed* feed);

}  // namespace inventory
