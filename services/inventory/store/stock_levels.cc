// Owns the SQL of the stock_levels read model: its tables, how a page of
// events changes them, and its queries.
#include "services/inventory/store/stock_levels.h"

#include <optional>
#include <utility>
#include <vector>

#include "absl/container/btree_map.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/eventstore/array_literal.h"
#include "common/eventstore/connection_pool.h"
#include "services/inventory/domain/events.h"
#include "services/inventory/store/product_snapshot.h"

namespace inventory {
namespace {

constexpr absl::string_view kProductPrefix = "product-";

struct Folded {
  Product product;
  int64_t version = 0;
  absl::Time updated_at;
};

}  // namespace

std::vector<eventstore::Migration> StockLevels::Migrations() {
  // Applied migrations never change: this text must stay as deployed.
  return {{"0113_stock_levels", R"sql(
-- The read model stock_levels (projection of the same name).
CREATE TABLE {schema}.stock_levels (
  product_id text COLLATE "C" NOT NULL,
  warehouse_id text COLLATE "C" NOT NULL,
  name text NOT NULL,
  on_hand bigint NOT NULL,
  reserved bigint NOT NULL,
  committed bigint NOT NULL,
  incoming bigint NOT NULL,
  damaged bigint NOT NULL,
  available bigint NOT NULL,
  version bigint NOT NULL,
  updated_at timestamptz NOT NULL,
  PRIMARY KEY (product_id, warehouse_id)
);
CREATE INDEX stock_levels_by_warehouse ON {schema}.stock_levels
  (warehouse_id, product_id);
-- Each product folded so far, so that the next event folds on top of it.
CREATE TABLE {schema}.stock_level_states (
  product_id text COLLATE "C" PRIMARY KEY,
  version bigint NOT NULL,
  state jsonb NOT NULL
);
ALTER TABLE {schema}.stock_level_states ALTER COLUMN state
  SET COMPRESSION lz4;
)sql"}};
}

eventstore::RebuildableModel StockLevels::Rebuildable(
    eventstore::EventStore* events) {
  return {.name = kStockLevelsProjection,
          .tables = {"stock_levels", "stock_level_states"},
          .migrations = Migrations(),
          .make = [events](const std::string& rows_schema) {
            return std::make_unique<StockLevels>(events, rows_schema);
          }};
}

absl::Status StockLevels::Apply(
    pqxx::work& tx, absl::Span<const eventstore::RecordedEvent> events) {
  // Each product's events in order; other streams (warehouses) add no row.
  absl::btree_map<std::string, std::vector<const eventstore::RecordedEvent*>>
      by_product;
  for (const eventstore::RecordedEvent& event : events) {
    if (!absl::StartsWith(event.stream_id, kProductPrefix)) continue;
    by_product[event.stream_id.substr(kProductPrefix.size())].push_back(&event);
  }
  if (by_product.empty()) return absl::OkStatus();
  const std::string& schema = rows_schema_;

  // The versions stored; states are read and parsed only where the cache
  // does not hold that version.
  absl::flat_hash_map<std::string, Folded> folded;
  std::vector<std::string> missing;
  for (const pqxx::row& row : tx.exec_params(
           absl::StrCat(
               "SELECT product_id, version FROM ", schema,
               ".stock_level_states WHERE product_id = ANY($1::text[])"),
           eventstore::ArrayLiteralOf(
               by_product, [](const auto& entry) { return entry.first; }))) {
    const std::string id = row[0].c_str();
    const int64_t version = row[1].as<int64_t>();
    if (std::optional<Product> cached = cache_.Take(id, version)) {
      folded[id] = {*std::move(cached), version, {}};
    } else {
      missing.push_back(id);
    }
  }
  if (!missing.empty()) {
    for (const pqxx::row& row : tx.exec_params(
             absl::StrCat("SELECT product_id, version, state::text FROM ",
                          schema,
                          ".stock_level_states WHERE product_id = "
                          "ANY($1::text[])"),
             eventstore::ArrayLiteralOf(
                 missing, [](const std::string& id) { return id; }))) {
      absl::StatusOr<Product> product = FromSnapshot(row[2].c_str());
      if (!product.ok()) return product.status();
      folded[row[0].c_str()] = {*std::move(product), row[1].as<int64_t>(), {}};
    }
  }

  eventstore::ArrayLiteral state_ids, state_versions, states;
  eventstore::ArrayLiteral ids, warehouses, names, on_hand, reserved, committed,
      incoming, damaged, available, versions, updated;
  for (const auto& [product_id, stream] : by_product) {
    Folded& product = folded[product_id];
    for (const eventstore::RecordedEvent* event : stream) {
      // A gap or a repeat would fold the figures wrong: refuse it.
      if (event->version != product.version + 1) {
        return absl::InternalError(
            absl::StrCat("stock_levels: ", event->stream_id, " version ",
                         event->version, " after version ", product.version));
      }
      absl::StatusOr<Event> decoded = FromJson(event->type, event->data_json);
      if (!decoded.ok()) return decoded.status();
      product.product = Evolve(std::move(product.product), *decoded);
      product.version = event->version;
      product.updated_at = event->recorded_at;
    }
    state_ids.Add(product_id);
    state_versions.Add(absl::StrCat(product.version));
    states.Add(SnapshotJson(product.product));
    for (const auto& [warehouse_id, stock] : product.product.warehouses()) {
      ids.Add(product_id);
      warehouses.Add(warehouse_id);
      names.Add(product.product.name);
      on_hand.Add(absl::StrCat(stock.on_hand));
      reserved.Add(absl::StrCat(stock.reserved));
      committed.Add(absl::StrCat(stock.committed));
      incoming.Add(absl::StrCat(stock.incoming));
      damaged.Add(absl::StrCat(stock.damaged));
      available.Add(absl::StrCat(stock.available()));
      versions.Add(absl::StrCat(product.version));
      updated.Add(eventstore::TimestampText(product.updated_at));
    }
  }
  tx.exec_params(
      absl::StrCat("INSERT INTO ", schema,
                   ".stock_level_states (product_id, version, state) SELECT * "
                   "FROM unnest($1::text[], $2::bigint[], $3::jsonb[]) ON "
                   "CONFLICT (product_id) DO UPDATE SET version = "
                   "EXCLUDED.version, state = EXCLUDED.state"),
      std::move(state_ids).Finish(), std::move(state_versions).Finish(),
      std::move(states).Finish());
  tx.exec_params(
      absl::StrCat(
          "INSERT INTO ", schema,
          ".stock_levels (product_id, warehouse_id, name, on_hand, reserved, "
          "committed, incoming, damaged, available, version, updated_at) "
          "SELECT * FROM unnest($1::text[], $2::text[], $3::text[], "
          "$4::bigint[], $5::bigint[], $6::bigint[], $7::bigint[], "
          "$8::bigint[], $9::bigint[], $10::bigint[], $11::timestamptz[]) ON "
          "CONFLICT (product_id, warehouse_id) DO UPDATE SET name = "
          "EXCLUDED.name, on_hand = EXCLUDED.on_hand, reserved = "
          "EXCLUDED.reserved, committed = EXCLUDED.committed, incoming = "
          "EXCLUDED.incoming, damaged = EXCLUDED.damaged, available = "
          "EXCLUDED.available, version = EXCLUDED.version, updated_at = "
          "EXCLUDED.updated_at"),
      std::move(ids).Finish(), std::move(warehouses).Finish(),
      std::move(names).Finish(), std::move(on_hand).Finish(),
      std::move(reserved).Finish(), std::move(committed).Finish(),
      std::move(incoming).Finish(), std::move(damaged).Finish(),
      std::move(available).Finish(), std::move(versions).Finish(),
      std::move(updated).Finish());
  for (auto& [product_id, product] : folded) {
    cache_.Put(product_id, product.version, std::move(product.product));
  }
  return absl::OkStatus();
}

absl::StatusOr<StockPage> StockLevels::List(const StockQuery& query) {
  const std::string& schema = events_->schema();
  constexpr absl::string_view kColumns =
      "SELECT product_id, warehouse_id, name, on_hand, reserved, committed, "
      "incoming, damaged, version, (extract(epoch FROM updated_at) * "
      "1000000)::bigint FROM ";
  StockPage page;
  absl::Status status = events_->pool().Run([&](eventstore::Connection& c) {
    // One snapshot: the rows are exactly those of the checkpoint.
    pqxx::transaction<pqxx::isolation_level::repeatable_read,
                      pqxx::readwrite_policy::read_only>
        tx(c.raw());
    page.position = eventstore::BeginModelRead(
        tx, schema, kStockLevelsProjection, {"stock_levels"});
    const pqxx::result rows =
        query.warehouse_id.empty()
            ? tx.exec_params(
                  absl::StrCat(kColumns, schema,
                               ".stock_levels WHERE (product_id, "
                               "warehouse_id) > ($1, $2) AND available <= $3 "
                               "ORDER BY product_id, warehouse_id LIMIT $4"),
                  query.after_product_id, query.after_warehouse_id,
                  query.max_available, query.max_count)
            : tx.exec_params(
                  absl::StrCat(kColumns, schema,
                               ".stock_levels WHERE warehouse_id = $1 AND "
                               "product_id > $2 AND available <= $3 ORDER BY "
                               "product_id LIMIT $4"),
                  query.warehouse_id, query.after_product_id,
                  query.max_available, query.max_count);
    for (const pqxx::row& row : rows) {
      StockLevelRow out;
      out.product_id = row[0].c_str();
      out.warehouse_id = row[1].c_str();
      out.name = row[2].c_str();
      out.stock.on_hand = row[3].as<int64_t>();
      out.stock.reserved = row[4].as<int64_t>();
      out.stock.committed = row[5].as<int64_t>();
      out.stock.incoming = row[6].as<int64_t>();
      out.stock.damaged = row[7].as<int64_t>();
      out.version = row[8].as<int64_t>();
      out.updated_at = absl::FromUnixMicros(row[9].as<int64_t>());
      page.rows.push_back(std::move(out));
    }
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return page;
}

}  // namespace inventory
