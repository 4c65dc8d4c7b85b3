#include "services/inventory/store/product_store.h"

#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "services/inventory/store/product_history.h"
#include "services/inventory/store/product_snapshot.h"
#include "services/inventory/store/stock_levels.h"

namespace inventory {
namespace {

constexpr absl::string_view kStreamPrefix = "product-";

// `types` as a SQL list of literals; the names are the domain's own
// constants, never input.
std::string TypeList(const std::vector<std::string>& types) {
  std::string list = "type IN (";
  for (size_t i = 0; i < types.size(); ++i) {
    absl::StrAppend(&list, i == 0 ? "'" : ", '", types[i], "'");
  }
  return list + ")";
}

// The event types whose own id a unique index keeps to one event each.
std::vector<std::string> MovementTypes() {
  std::vector<std::string> types;
  for (IdKind kind :
       {IdKind::kRelease, IdKind::kReceipt, IdKind::kShipment, IdKind::kReturn,
        IdKind::kTransfer, IdKind::kAdjustment}) {
    for (const std::string& type : TypesCarrying(kind)) types.push_back(type);
  }
  return types;
}

// A movement event's own id: each type carries exactly one of these fields,
// and an empty one (a receipt without an id) is NULL, which the unique index
// does not constrain. Spelled once for index 0103 and the look-up.
std::string MovementIdExpression() {
  std::string fields;
  for (IdKind kind :
       {IdKind::kRelease, IdKind::kReceipt, IdKind::kShipment, IdKind::kReturn,
        IdKind::kTransfer, IdKind::kAdjustment}) {
    absl::StrAppend(&fields, fields.empty() ? "" : ", ", "data->>'",
                    IdFieldOf(kind), "'");
  }
  return absl::StrCat("NULLIF(COALESCE(", fields, "), '')");
}

// A snapshot holds every live reservation, so it is rewritten only once the
// events since the last one are as many as its reservations: its cost per
// event stays constant, and a load folds no more events than it restores.
bool SnapshotDue(int64_t new_version, int64_t snapshot_version,
                 const Product& after) {
  const auto held = static_cast<int64_t>(after.reservations().size());
  return new_version - snapshot_version >= 1 + held;
}

// What an append of `after` at `new_version` writes beside its events.
eventstore::SnapshotWrite SnapshotFor(const Product& after, int64_t new_version,
                                      int64_t snapshot_version) {
  eventstore::SnapshotWrite snapshot{std::nullopt, after.next_expiry()};
  if (SnapshotDue(new_version, snapshot_version, after)) {
    snapshot.json = SnapshotJson(after);
  }
  return snapshot;
}

}  // namespace

std::vector<eventstore::EventData> EventDataOf(
    const std::vector<Event>& events, const eventstore::Metadata& metadata) {
  return eventstore::NewEventData(events, metadata, TypeOf, ToJson);
}

std::string StreamOf(const std::string& product_id) {
  return absl::StrCat(kStreamPrefix, product_id);
}

namespace {

// The stock's own migrations (0100 to 0109).
std::vector<eventstore::Migration> StockMigrations() {
  // Applied migrations never change: this text must stay as deployed
  // databases ran it (the names come from the domain, spelled as then).
  return {{"0100_reservation_history",
           absl::StrCat(R"sql(
-- Finds how a reservation ended without replaying the product's stream.
CREATE INDEX events_reservation_id ON {schema}.events
  (stream_id, (data->>'reservationId'))
  WHERE )sql",
                        TypeList(TypesCarrying(IdKind::kReservation)), ";\n")},
          {"0101_reservation_once",
           absl::StrCat(R"sql(
-- A reservation id is used once per product: a reuse fails the append
-- itself, so the common case needs no look-up before reserving.
CREATE UNIQUE INDEX events_reservation_once ON {schema}.events
  (stream_id, (data->>'reservationId')) WHERE type = ')sql",
                        TypeOf(v1::StockReserved()), "';\n")},
          {"0102_warehouse_main", absl::StrCat(R"sql(
-- Warehouse main exists from the start: every call and every stored event
-- that names no warehouse means it.
INSERT INTO {schema}.streams (stream_id, version) VALUES ('warehouse-main', 1);
INSERT INTO {schema}.events (stream_id, version, event_id, type, data, metadata)
  VALUES ('warehouse-main', 1, gen_random_uuid(), ')sql",
                                               kWarehouseAddedType, R"sql(',
          '{"warehouseId": "main", "name": "Main warehouse"}',
          '{"causedBy": "inventory/migration 0102_warehouse_main"}');
)sql")},
          {"0103_movement_once",
           absl::StrCat(R"sql(
-- A movement's own id (receipt, release, shipment, return, transfer,
-- adjustment) is used once per product and type: a repeat fails the append
-- itself, and history then says what the first one was.
CREATE UNIQUE INDEX events_movement_once ON {schema}.events
  (stream_id, type, ()sql",
                        MovementIdExpression(), "))\n  WHERE ",
                        TypeList(MovementTypes()), ";\n")}};
}

}  // namespace

std::vector<eventstore::Migration> ProductStore::Migrations() {
  std::vector<eventstore::Migration> migrations = StockMigrations();
  // The forensic reads' own (0110 onwards), kept in product_history.cc.
  for (eventstore::Migration& migration : ProductHistory::Migrations()) {
    migrations.push_back(std::move(migration));
  }
  // The read model stock_levels (0113), kept in stock_levels.cc.
  for (eventstore::Migration& migration : StockLevels::Migrations()) {
    migrations.push_back(std::move(migration));
  }
  return migrations;
}

absl::StatusOr<LoadedProduct> ProductStore::Load(
    const std::string& product_id) {
  LoadedProduct loaded;
  absl::StatusOr<int64_t> version = eventstore::LoadStream(
      *events_, StreamOf(product_id),
      [&](const std::string& snapshot) {
        absl::StatusOr<Product> product = FromSnapshot(snapshot);
        if (!product.ok()) return product.status();
        loaded.product = *std::move(product);
        return absl::OkStatus();
      },
      [&](const eventstore::RecordedEvent& recorded) {
        absl::StatusOr<Event> event =
            FromJson(recorded.type, recorded.data_json);
        if (!event.ok()) return event.status();
        loaded.product = Evolve(std::move(loaded.product), *event);
        return absl::OkStatus();
      },
      &loaded.snapshot_version);
  if (!version.ok()) return version.status();
  loaded.version = *version;
  return loaded;
}

absl::StatusOr<Past> ProductStore::LatestWith(const std::string& product_id,
                                              IdKind kind,
                                              const std::string& id) {
  const bool reservation = kind == IdKind::kReservation;
  const std::string name =
      absl::StrCat(events_->schema(), "_latest_with_", static_cast<int>(kind));
  // Spelled as indexes events_reservation_id (0100) and events_movement_once
  // (0103) are, so that the planner uses them.
  const std::string sql = absl::StrCat(
      "SELECT version, type, data::text FROM ", events_->schema(),
      ".events WHERE stream_id = $1 AND ", TypeList(TypesCarrying(kind)),
      " AND ", reservation ? "data->>'reservationId'" : MovementIdExpression(),
      " = $2 ORDER BY version DESC LIMIT 1");
  Past past;
  absl::Status status = events_->pool().Run([&](eventstore::Connection& c) {
    c.Prepare(name, sql);
    pqxx::nontransaction tx(c.raw());
    pqxx::result rows = tx.exec_prepared(name, StreamOf(product_id), id);
    if (rows.empty()) return absl::OkStatus();
    absl::StatusOr<Event> event =
        FromJson(rows[0][1].as<std::string>(), rows[0][2].as<std::string>());
    if (!event.ok()) return event.status();
    past = PastEvent{*std::move(event), rows[0][0].as<int64_t>()};
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return past;
}

absl::StatusOr<Past> ProductStore::FindPast(const std::string& product_id,
                                            const HistoryKey& key) {
  absl::StatusOr<Past> past = LatestWith(product_id, key.kind, key.id);
  // No such release: how its reservation ended tells the rest.
  if (past.ok() && !past->has_value() && key.kind == IdKind::kRelease) {
    return LatestWith(product_id, IdKind::kReservation, key.reservation_id);
  }
  return past;
}

absl::StatusOr<eventstore::AppendResult> ProductStore::Append(
    const std::string& product_id, int64_t expected_version,
    const std::vector<eventstore::EventData>& events, const Product& after,
    int64_t* snapshot_version, absl::Time deadline) {
  const eventstore::SnapshotWrite snapshot =
      SnapshotFor(after, expected_version + static_cast<int64_t>(events.size()),
                  *snapshot_version);
  absl::StatusOr<eventstore::AppendResult> appended =
      events_->Append(StreamOf(product_id),
                      eventstore::ExpectedVersion::Exactly(expected_version),
                      events, &snapshot, deadline);
  if (appended.ok() && snapshot.json.has_value()) {
    *snapshot_version = appended->version;
  }
  return appended;
}

void ProductStore::AppendAsync(const std::string& product_id,
                               int64_t expected_version,
                               std::vector<eventstore::EventData> events,
                               const Product& after, int64_t* snapshot_version,
                               absl::Time deadline,
                               eventstore::AppendCallback done) {
  eventstore::SnapshotWrite snapshot =
      SnapshotFor(after, expected_version + static_cast<int64_t>(events.size()),
                  *snapshot_version);
  const bool with_snapshot = snapshot.json.has_value();
  events_->AppendAsync(
      StreamOf(product_id),
      eventstore::ExpectedVersion::Exactly(expected_version), std::move(events),
      std::move(snapshot),
      [with_snapshot, snapshot_version, done = std::move(done)](
          absl::StatusOr<eventstore::AppendResult> appended) mutable {
        if (appended.ok() && with_snapshot) {
          *snapshot_version = appended->version;
        }
        std::move(done)(std::move(appended));
      },
      deadline);
}

absl::StatusOr<std::vector<eventstore::RecordedEvent>> ProductStore::ReadEvents(
    const std::string& product_id, int64_t from_version, int max_count) {
  return events_->ReadStreamForward(StreamOf(product_id), from_version,
                                    max_count);
}

absl::StatusOr<std::vector<std::string>> ProductStore::ProductsDue(
    absl::Time now, int max_count) {
  absl::StatusOr<std::vector<std::string>> streams =
      events_->StreamsDue(now, max_count);
  if (!streams.ok()) return streams.status();
  std::vector<std::string> products;
  for (const std::string& stream : *streams) {
    if (absl::StartsWith(stream, kStreamPrefix)) {
      products.push_back(stream.substr(kStreamPrefix.size()));
    }
  }
  return products;
}

}  // namespace inventory
