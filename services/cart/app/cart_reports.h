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
      : events_(events),
        carts_(events),
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

  // Each once its model has applied `min`, when one is given.
  absl::StatusOr<CartPage> ListCarts(const CartQuery& query,
                                     const eventstore::MinPosition& min = {}) {
    if (absl::Status applied = Await(carts_projection_, min); !applied.ok()) {
      return applied;
    }
    return carts_.List(query);
  }
  absl::StatusOr<SalesReport> SalesByDay(
      absl::CivilDay from, absl::CivilDay to, const std::string& time_zone,
      const eventstore::MinPosition& min = {}) {
    if (absl::Status applied = Await(sales_projection_, min); !applied.ok()) {
      return applied;
    }
    return sales_.Report(from, to, time_zone);
  }

  const eventstore::Projection& carts_projection() const {
    return carts_projection_;
  }
  const eventstore::Projection& sales_projection() const {
    return sales_projection_;
  }

 private:
  absl::Status Await(const eventstore::Projection& projection,
                     const eventstore::MinPosition& min) {
    if (!min.position.has_value()) return absl::OkStatus();
    return eventstore::AwaitProjection(events_->pool(), events_->schema(),
                                       projection.name(), *min.position,
                                       min.deadline);
  }

  eventstore::EventStore* const events_;
  CustomerCarts carts_;
  cart::SalesByDay sales_;
  eventstore::Projection carts_projection_;
  eventstore::Projection sales_projection_;
};

}  // namespace cart
