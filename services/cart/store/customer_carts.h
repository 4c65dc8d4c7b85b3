#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "common/eventstore/event_store.h"
#include "common/eventstore/fold_cache.h"
#include "common/eventstore/migrations.h"
#include "common/eventstore/projection.h"
#include "common/eventstore/projection_rebuild.h"
#include "services/cart/domain/cart.h"

namespace cart {

inline constexpr char kCustomerCartsProjection[] = "customer_carts";

// One cart as the read model holds it.
struct CartRow {
  std::string cart_id;
  std::string customer_id;
  bool checked_out = false;
  std::string order_id;
  int64_t item_count = 0;  // units over every line
  int64_t total_cents = 0;
  int64_t version = 0;
  absl::Time created_at;
  absl::Time updated_at;
};

enum class CartStateFilter { kAny, kOpen, kCheckedOut };

struct CartQuery {
  std::string customer_id;
  CartStateFilter state = CartStateFilter::kAny;
  // Newest first: rows created before (after_created_at, after_cart_id).
  std::optional<absl::Time> after_created_at;
  std::string after_cart_id;
  int max_count = 100;
};

struct CartPage {
  std::vector<CartRow> rows;
  eventstore::GlobalPosition position;  // the projection's checkpoint
};

// The read model `customer_carts`: one row per cart, by customer. Each
// cart is folded with the domain's Evolve from its state kept in the row.
class CustomerCarts final : public eventstore::ProjectionModel {
 public:
  // The rows live in RowsSchemaOf(*events, rows_schema).
  explicit CustomerCarts(eventstore::EventStore* events,
                         std::string rows_schema = "")
      : events_(events),
        rows_schema_(
            eventstore::RowsSchemaOf(*events, std::move(rows_schema))) {}
  // What `projections rebuild customer_carts` needs.
  static eventstore::RebuildableModel Rebuildable(
      eventstore::EventStore* events);

  static std::vector<eventstore::Migration> Migrations();

  absl::Status Apply(
      pqxx::work& tx,
      absl::Span<const eventstore::RecordedEvent> events) override;

  absl::StatusOr<CartPage> List(const CartQuery& query);

 private:
  eventstore::EventStore* const events_;
  const std::string rows_schema_;
  eventstore::FoldCache<Cart> cache_;
};

}  // namespace cart
