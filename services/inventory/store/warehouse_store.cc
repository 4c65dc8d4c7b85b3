// Owns the warehouses' streams: adding one, and reading them back.
#include "services/inventory/store/warehouse_store.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/errors/errors.h"
#include "common/eventstore/expected_version.h"
#include "common/eventstore/uuid.h"
#include "common/util/proto_json.h"
#include "inventory/v1/events.pb.h"
#include "services/inventory/domain/events.h"

namespace inventory {
namespace {

constexpr absl::string_view kPrefix = "warehouse-";

std::string StreamOfWarehouse(const std::string& warehouse_id) {
  return absl::StrCat(kPrefix, warehouse_id);
}

absl::StatusOr<WarehouseRecord> RecordOf(
    const eventstore::RecordedEvent& event) {
  v1::WarehouseAdded added;
  if (absl::Status status = shop::FromJson(event.data_json, &added);
      !status.ok()) {
    return status;
  }
  return WarehouseRecord{added.warehouse_id(), added.name(), event.recorded_at};
}

}  // namespace

absl::StatusOr<WarehouseRecord> WarehouseStore::Add(
    const std::string& warehouse_id, const std::string& name,
    const eventstore::Metadata& metadata) {
  v1::WarehouseAdded added;
  added.set_warehouse_id(warehouse_id);
  added.set_name(name);
  const std::string stream = StreamOfWarehouse(warehouse_id);
  absl::StatusOr<eventstore::AppendResult> appended =
      events_->Append(stream, eventstore::ExpectedVersion::NoStream(),
                      {{eventstore::NewUuid(), kWarehouseAddedType,
                        shop::ToJson(added), metadata.ToJson()}});
  if (!appended.ok()) {
    if (eventstore::AsWrongExpectedVersion(appended.status()).has_value()) {
      return shop::MakeError(
          absl::StatusCode::kAlreadyExists, kErrorDomain, "WAREHOUSE_EXISTS",
          absl::StrCat("warehouse ", warehouse_id, " already exists"),
          {{"warehouse_id", warehouse_id}});
    }
    return appended.status();
  }
  absl::StatusOr<std::vector<eventstore::RecordedEvent>> first =
      events_->ReadStreamForward(stream, 1, 1);
  if (!first.ok()) return first.status();
  if (first->empty()) return absl::InternalError("an added warehouse is gone");
  return RecordOf(first->front());
}

absl::StatusOr<bool> WarehouseStore::Exists(const std::string& warehouse_id) {
  absl::StatusOr<eventstore::StreamHead> head =
      events_->ReadHead(StreamOfWarehouse(warehouse_id));
  if (!head.ok()) return head.status();
  return head->version > 0;
}

absl::StatusOr<std::vector<WarehouseRecord>> WarehouseStore::List(
    const std::string& after_id, int max_count) {
  const std::string name = events_->schema() + "_list_warehouses";
  // The streams' first events in id order: a range of the (stream_id,
  // version) index, whose ids compare byte by byte ('.' follows '-').
  const std::string sql = absl::StrCat(
      "SELECT data::text, (extract(epoch FROM recorded_at) * 1000000)::bigint "
      "FROM ",
      events_->schema(),
      ".events WHERE stream_id > $1 AND stream_id < 'warehouse.' AND "
      "version = 1 AND type = '",
      kWarehouseAddedType, "' ORDER BY stream_id LIMIT $2");
  std::vector<eventstore::RecordedEvent> rows;
  absl::Status status = events_->pool().Run([&](eventstore::Connection& c) {
    c.Prepare(name, sql);
    pqxx::nontransaction tx(c.raw());
    for (const pqxx::row& row :
         tx.exec_prepared(name, StreamOfWarehouse(after_id), max_count)) {
      eventstore::RecordedEvent event;
      event.data_json = row[0].as<std::string>();
      event.recorded_at = absl::FromUnixMicros(row[1].as<int64_t>());
      rows.push_back(std::move(event));
    }
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  std::vector<WarehouseRecord> warehouses;
  for (const eventstore::RecordedEvent& row : rows) {
    absl::StatusOr<WarehouseRecord> record = RecordOf(row);
    if (!record.ok()) return record.status();
    warehouses.push_back(*std::move(record));
  }
  return warehouses;
}

}  // namespace inventory
