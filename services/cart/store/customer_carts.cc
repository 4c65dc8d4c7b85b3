// Owns the SQL of the customer_carts read model: its table, how a page of
// events changes it, and its query.
#include "services/cart/store/customer_carts.h"

#include <optional>
#include <utility>
#include <vector>

#include "absl/container/btree_map.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/eventstore/array_literal.h"
#include "common/eventstore/connection_pool.h"
#include "services/cart/domain/cart.h"
#include "services/cart/store/cart_snapshot.h"

namespace cart {
namespace {

constexpr absl::string_view kCartPrefix = "cart-";

struct Folded {
  Cart cart;
  int64_t version = 0;
  absl::Time created_at;
  absl::Time updated_at;
};

}  // namespace

std::vector<eventstore::Migration> CustomerCarts::Migrations() {
  // Applied migrations never change: this text must stay as deployed.
  return {{"0210_customer_carts", R"sql(
-- The read model customer_carts (projection of the same name).
CREATE TABLE {schema}.customer_carts (
  cart_id text COLLATE "C" PRIMARY KEY,
  customer_id text COLLATE "C" NOT NULL,
  checked_out boolean NOT NULL,
  order_id text NOT NULL,
  item_count bigint NOT NULL,
  total_cents bigint NOT NULL,
  version bigint NOT NULL,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  -- The cart folded so far, so that the next event folds on top of it.
  state jsonb NOT NULL
);
CREATE INDEX customer_carts_by_customer ON {schema}.customer_carts
  (customer_id, created_at DESC, cart_id DESC);
)sql"}};
}

eventstore::RebuildableModel CustomerCarts::Rebuildable(
    eventstore::EventStore* events) {
  return {.name = kCustomerCartsProjection,
          .tables = {"customer_carts"},
          .migrations = Migrations(),
          .make = [events](const std::string& rows_schema) {
            return std::make_unique<CustomerCarts>(events, rows_schema);
          }};
}

absl::Status CustomerCarts::Apply(
    pqxx::work& tx, absl::Span<const eventstore::RecordedEvent> events) {
  absl::btree_map<std::string, std::vector<const eventstore::RecordedEvent*>>
      by_cart;
  for (const eventstore::RecordedEvent& event : events) {
    if (!absl::StartsWith(event.stream_id, kCartPrefix)) continue;
    by_cart[event.stream_id.substr(kCartPrefix.size())].push_back(&event);
  }
  if (by_cart.empty()) return absl::OkStatus();
  const std::string& schema = rows_schema_;

  // The versions stored; states are read and parsed only where the cache
  // does not hold that version.
  absl::flat_hash_map<std::string, Folded> folded;
  std::vector<std::string> missing;
  for (const pqxx::row& row : tx.exec_params(
           absl::StrCat("SELECT cart_id, version, (extract(epoch FROM "
                        "created_at) * 1000000)::bigint FROM ",
                        schema,
                        ".customer_carts WHERE cart_id = ANY($1::text[])"),
           eventstore::ArrayLiteralOf(
               by_cart, [](const auto& entry) { return entry.first; }))) {
    const std::string id = row[0].c_str();
    Folded& cart = folded[id];
    cart.version = row[1].as<int64_t>();
    cart.created_at = absl::FromUnixMicros(row[2].as<int64_t>());
    if (std::optional<Cart> cached = cache_.Take(id, cart.version)) {
      cart.cart = *std::move(cached);
    } else {
      missing.push_back(id);
    }
  }
  if (!missing.empty()) {
    for (const pqxx::row& row : tx.exec_params(
             absl::StrCat("SELECT cart_id, state::text FROM ", schema,
                          ".customer_carts WHERE cart_id = ANY($1::text[])"),
             eventstore::ArrayLiteralOf(
                 missing, [](const std::string& id) { return id; }))) {
      if (absl::Status restored =
              Restore(row[1].c_str(), &folded[row[0].c_str()].cart);
          !restored.ok()) {
        return restored;
      }
    }
  }

  eventstore::ArrayLiteral ids, customers, checked_out, orders, counts, totals,
      versions, created, updated, states;
  for (const auto& [cart_id, stream] : by_cart) {
    Folded& cart = folded[cart_id];
    for (const eventstore::RecordedEvent* event : stream) {
      // A gap or a repeat would fold the cart wrong: refuse it.
      if (event->version != cart.version + 1) {
        return absl::InternalError(
            absl::StrCat("customer_carts: ", event->stream_id, " version ",
                         event->version, " after version ", cart.version));
      }
      absl::StatusOr<Event> decoded = FromJson(event->type, event->data_json);
      if (!decoded.ok()) return decoded.status();
      cart.cart = Evolve(std::move(cart.cart), *decoded);
      if (event->version == 1) cart.created_at = event->recorded_at;
      cart.version = event->version;
      cart.updated_at = event->recorded_at;
    }
    int64_t units = 0;
    for (const Line& line : cart.cart.lines) units += line.quantity;
    ids.Add(cart_id);
    customers.Add(cart.cart.customer_id);
    checked_out.Add(cart.cart.checked_out ? "true" : "false");
    orders.Add(cart.cart.order_id);
    counts.Add(absl::StrCat(units));
    totals.Add(absl::StrCat(cart.cart.total_cents()));
    versions.Add(absl::StrCat(cart.version));
    created.Add(eventstore::TimestampText(cart.created_at));
    updated.Add(eventstore::TimestampText(cart.updated_at));
    states.Add(SnapshotJson(cart.cart));
  }
  tx.exec_params(
      absl::StrCat(
          "INSERT INTO ", schema,
          ".customer_carts (cart_id, customer_id, checked_out, order_id, "
          "item_count, total_cents, version, created_at, updated_at, state) "
          "SELECT * FROM unnest($1::text[], $2::text[], $3::boolean[], "
          "$4::text[], $5::bigint[], $6::bigint[], $7::bigint[], "
          "$8::timestamptz[], $9::timestamptz[], $10::jsonb[]) ON CONFLICT "
          "(cart_id) DO UPDATE SET customer_id = EXCLUDED.customer_id, "
          "checked_out = EXCLUDED.checked_out, order_id = EXCLUDED.order_id, "
          "item_count = EXCLUDED.item_count, total_cents = "
          "EXCLUDED.total_cents, version = EXCLUDED.version, updated_at = "
          "EXCLUDED.updated_at, state = EXCLUDED.state"),
      std::move(ids).Finish(), std::move(customers).Finish(),
      std::move(checked_out).Finish(), std::move(orders).Finish(),
      std::move(counts).Finish(), std::move(totals).Finish(),
      std::move(versions).Finish(), std::move(created).Finish(),
      std::move(updated).Finish(), std::move(states).Finish());
  for (auto& [cart_id, cart] : folded) {
    cache_.Put(cart_id, cart.version, std::move(cart.cart));
  }
  return absl::OkStatus();
}

absl::StatusOr<CartPage> CustomerCarts::List(const CartQuery& query) {
  const std::string& schema = events_->schema();
  std::string state;
  if (query.state == CartStateFilter::kOpen) state = " AND NOT checked_out";
  if (query.state == CartStateFilter::kCheckedOut) state = " AND checked_out";
  // Newest first; the page token's row and those before it were sent.
  const std::string sql = absl::StrCat(
      "SELECT cart_id, customer_id, checked_out, order_id, item_count, "
      "total_cents, version, (extract(epoch FROM created_at) * "
      "1000000)::bigint, (extract(epoch FROM updated_at) * 1000000)::bigint "
      "FROM ",
      schema, ".customer_carts WHERE customer_id = $1", state,
      " AND ($2::bigint IS NULL OR (created_at, cart_id) < ('epoch'::"
      "timestamptz + $2::bigint * interval '1 microsecond', $3)) ORDER BY "
      "created_at DESC, cart_id DESC LIMIT $4");
  CartPage page;
  absl::Status status = events_->pool().Run([&](eventstore::Connection& c) {
    // One snapshot: the rows are exactly those of the checkpoint.
    pqxx::transaction<pqxx::isolation_level::repeatable_read,
                      pqxx::readwrite_policy::read_only>
        tx(c.raw());
    page.position = eventstore::BeginModelRead(
        tx, schema, kCustomerCartsProjection, {"customer_carts"});
    const std::string after_micros =
        query.after_created_at.has_value()
            ? absl::StrCat(absl::ToUnixMicros(*query.after_created_at))
            : "";
    const pqxx::result rows = tx.exec_params(
        sql, query.customer_id,
        query.after_created_at.has_value() ? after_micros.c_str() : nullptr,
        query.after_cart_id, query.max_count);
    for (const pqxx::row& row : rows) {
      CartRow out;
      out.cart_id = row[0].c_str();
      out.customer_id = row[1].c_str();
      out.checked_out = row[2].as<bool>();
      out.order_id = row[3].c_str();
      out.item_count = row[4].as<int64_t>();
      out.total_cents = row[5].as<int64_t>();
      out.version = row[6].as<int64_t>();
      out.created_at = absl::FromUnixMicros(row[7].as<int64_t>());
      out.updated_at = absl::FromUnixMicros(row[8].as<int64_t>());
      page.rows.push_back(std::move(out));
    }
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return page;
}

}  // namespace cart
