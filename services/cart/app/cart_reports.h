#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/civil_time.h"
#include "common/eventstore/event_store.h"
#include "common/eventstore/feed.h"
#include "common/eventstore/projection.h"
#include "services/cart/store/customer_carts.h"
#include "services/cart/store/sales_by_day.h"

namespace cart {

// The cart's reports: keeps the read models customer_carts and
// sales_by_day from the feed (each on whichever replica leads its
// projection) and answers their queries, on every replica, from the rows.
class CartReports final {
 public:
  CartReports(eventstore::EventStore* events, eventstore::Feed* feed,
              const eventstore::ProjectionOptions& options)
      : carts_(events),
        sales_(events),
        carts_projection_(kCustomerCartsProjection, &carts_, events, feed,
                          options),
        sales_projection_(kSalesByDayProjection, &sales_, events, feed,
                          options) {}

  void Start() {
    carts_projection_.Start();
    sales_projection_.Start();
  }
  void Stop() {
    carts_projection_.Stop();
    sales_projection_.Stop();
  }

  absl::StatusOr<CartPage> ListCarts(const CartQuery& query) {
    return carts_.List(query);
  }
  absl::StatusOr<SalesReport> SalesByDay(absl::CivilDay from, absl::CivilDay to,
                                         const std::string& time_zone) {
    return sales_.Report(from, to, time_zone);
  }

  const eventstore::Projection& carts_projection() const {
    return carts_projection_;
  }
  const eventstore::Projection& sales_projection() const {
    return sales_projection_;
  }

 private:
  CustomerCarts carts_;
  cart::SalesByDay sales_;
  eventstore::Projection carts_projection_;
  eventstore::Projection sales_projection_;
};

}  // namespace cart
