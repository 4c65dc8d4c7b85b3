// Owns the SQL of a product's past: checkpoints of its folded state and the
// filtered reads of its stream (warehouse filter included).
#include "services/inventory/store/product_history.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/eventstore/array_literal.h"
#include "services/inventory/store/product_snapshot.h"
#include "services/inventory/store/product_store.h"

namespace inventory {
namespace {

// The SQL function of migration 0111 that lists the warehouses an event's
// data names.
constexpr char kWarehousesFunction[] = "event_warehouses";

}  // namespace

// 0112 spells the spacing out: another one needs a migration of its own.
static_assert(kCheckpointEvery == 64);

std::vector<eventstore::Migration> ProductHistory::Migrations() {
  // Applied migrations never change: this text must stay as deployed.
  return {{"0110_product_checkpoints", R"sql(
-- The folded product every few dozen versions, so that its stock as of a
-- time folds a bounded number of events whatever the stream's length.
CREATE TABLE {schema}.product_checkpoints (
  stream_id text COLLATE "C" NOT NULL,
  version bigint NOT NULL CHECK (version > 0),
  -- When the checkpoint's last event was recorded.
  recorded_at timestamptz NOT NULL,
  snapshot jsonb NOT NULL,
  PRIMARY KEY (stream_id, version)
);
ALTER TABLE {schema}.product_checkpoints ALTER COLUMN snapshot
  SET COMPRESSION lz4;
CREATE INDEX product_checkpoints_at ON {schema}.product_checkpoints
  (stream_id, recorded_at, version);
)sql"},
          {"0111_event_warehouses", R"sql(
-- The warehouses an event's data names (warehouseId, fromWarehouseId,
-- toWarehouseId, lines[].warehouseId; empty means main); an event naming
-- none is main's, as every event from before warehouses is.
CREATE FUNCTION {schema}.event_warehouses(data jsonb) RETURNS text[]
  LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
SELECT COALESCE(array_agg(COALESCE(NULLIF(w, ''), 'main')), ARRAY['main'])
FROM (
  SELECT data->>'warehouseId'
  UNION ALL SELECT data->>'fromWarehouseId'
  UNION ALL SELECT data->>'toWarehouseId'
  UNION ALL SELECT line->>'warehouseId'
    FROM jsonb_array_elements(CASE jsonb_typeof(data->'lines')
      WHEN 'array' THEN data->'lines' ELSE '[]'::jsonb END) AS line
) AS named(w)
WHERE w IS NOT NULL
$$;
)sql"},
          {"0112_checkpoint_on_append", R"sql(
-- An append that stores a new snapshot of a product past a multiple of 64
-- versions also keeps it as a checkpoint, in the append's own statement:
-- new history needs no catch-up fold, and the append stays one statement.
-- now() is its events' recorded_at.
CREATE FUNCTION {schema}.checkpoint_snapshot() RETURNS trigger
  LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO {schema}.product_checkpoints
      (stream_id, version, recorded_at, snapshot)
    VALUES (NEW.stream_id, NEW.snapshot_version, now(), NEW.snapshot)
    ON CONFLICT DO NOTHING;
  RETURN NULL;
END $$;
CREATE TRIGGER streams_checkpoint AFTER UPDATE ON {schema}.streams
  FOR EACH ROW WHEN (NEW.snapshot IS NOT NULL
    AND NEW.snapshot_version / 64 > OLD.snapshot_version / 64
    AND NEW.stream_id LIKE 'product-%')
  EXECUTE FUNCTION {schema}.checkpoint_snapshot();
)sql"}};
}

absl::StatusOr<std::optional<Checkpoint>> ProductHistory::LatestCheckpoint(
    const std::string& product_id, absl::Time as_of) {
  const std::string name = events_->schema() + "_latest_checkpoint";
  std::optional<std::pair<int64_t, std::string>> row;
  absl::Time recorded_at;
  absl::Status status = events_->pool().Run([&](eventstore::Connection& c) {
    c.Prepare(name,
              absl::StrCat("SELECT version, (extract(epoch FROM recorded_at) "
                           "* 1000000)::bigint, snapshot::text FROM ",
                           events_->schema(),
                           ".product_checkpoints WHERE stream_id = $1 AND "
                           "recorded_at <= $2::timestamptz ORDER BY "
                           "recorded_at DESC, version DESC LIMIT 1"));
    pqxx::nontransaction tx(c.raw());
    pqxx::result rows = tx.exec_prepared(name, StreamOf(product_id),
                                         eventstore::TimestampText(as_of));
    if (rows.empty()) return absl::OkStatus();
    row.emplace(rows[0][0].as<int64_t>(), rows[0][2].as<std::string>());
    recorded_at = absl::FromUnixMicros(rows[0][1].as<int64_t>());
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  if (!row.has_value()) return std::optional<Checkpoint>();
  absl::StatusOr<Product> product = FromSnapshot(row->second);
  if (!product.ok()) return product.status();
  return std::optional<Checkpoint>(
      Checkpoint{row->first, recorded_at, *std::move(product)});
}

absl::Status ProductHistory::WriteCheckpoints(
    const std::string& product_id, const std::vector<Checkpoint>& checkpoints) {
  if (checkpoints.empty()) return absl::OkStatus();
  const std::string name = events_->schema() + "_write_checkpoints";
  const std::string versions = eventstore::ArrayLiteralOf(
      checkpoints, [](const Checkpoint& c) { return absl::StrCat(c.version); });
  const std::string times =
      eventstore::ArrayLiteralOf(checkpoints, [](const Checkpoint& c) {
        return eventstore::TimestampText(c.recorded_at);
      });
  const std::string snapshots = eventstore::ArrayLiteralOf(
      checkpoints, [](const Checkpoint& c) { return SnapshotJson(c.product); });
  return events_->pool().Run([&](eventstore::Connection& c) {
    c.Prepare(name, absl::StrCat("INSERT INTO ", events_->schema(),
                                 ".product_checkpoints (stream_id, version, "
                                 "recorded_at, snapshot) SELECT $1, v, t, s "
                                 "FROM unnest($2::bigint[], "
                                 "$3::timestamptz[], $4::jsonb[]) AS u(v, t, "
                                 "s) ON CONFLICT DO NOTHING"));
    pqxx::nontransaction tx(c.raw());
    tx.exec_prepared(name, StreamOf(product_id), versions, times, snapshots);
    return absl::OkStatus();
  });
}

absl::StatusOr<int64_t> ProductHistory::CountCheckpoints(
    const std::string& product_id) {
  int64_t count = 0;
  absl::Status status = events_->pool().Run([&](eventstore::Connection& c) {
    pqxx::nontransaction tx(c.raw());
    count =
        tx.exec_params(absl::StrCat("SELECT count(*) FROM ", events_->schema(),
                                    ".product_checkpoints WHERE "
                                    "stream_id = $1"),
                       StreamOf(product_id))[0][0]
            .as<int64_t>();
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return count;
}

absl::StatusOr<std::vector<eventstore::RecordedEvent>>
ProductHistory::ReadForward(const std::string& product_id, int64_t from_version,
                            int max_count) {
  return events_->ReadStreamForward(StreamOf(product_id), from_version,
                                    max_count);
}

absl::StatusOr<std::vector<eventstore::RecordedEvent>>
ProductHistory::ReadEvents(const std::string& product_id, int64_t from_version,
                           const ProductEventQuery& query, int max_count) {
  eventstore::StreamFilter filter{.types = query.types,
                                  .from_time = query.from_time,
                                  .to_time = query.to_time,
                                  .backward = query.backward};
  if (!query.warehouse_id.empty()) {
    filter.tag_function = kWarehousesFunction;
    filter.tag = query.warehouse_id;
  }
  return events_->ReadStreamFiltered(StreamOf(product_id), from_version, filter,
                                     max_count);
}

absl::StatusOr<int64_t> ProductHistory::Version(const std::string& product_id) {
  absl::StatusOr<eventstore::StreamHead> head =
      events_->ReadHead(StreamOf(product_id));
  if (!head.ok()) return head.status();
  return head->version;
}

}  // namespace inventory
