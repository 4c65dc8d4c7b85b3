#include "services/cart/store/order_store.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "services/cart/store/customer_carts.h"
#include "services/cart/store/sales_by_day.h"

namespace cart {
namespace {

// More transitions and returns than any order has; a longer stream is
// refused rather than folded in part.
constexpr int kMaxOrderEvents = eventstore::EventStore::kMaxReadCount;

}  // namespace

std::vector<eventstore::EventData> OrderEventData(
    const std::vector<OrderEvent>& events,
    const eventstore::Metadata& metadata) {
  return eventstore::NewEventData(
      events, metadata, [](const OrderEvent& e) { return TypeOf(e); },
      [](const OrderEvent& e) { return ToJson(e); });
}

std::string OrderStreamOf(const std::string& order_id) {
  return absl::StrCat("order-", order_id);
}

absl::StatusOr<LoadedOrder> EventOrderStore::Load(const std::string& order_id) {
  absl::StatusOr<std::vector<eventstore::RecordedEvent>> recorded =
      events_->ReadStreamForward(OrderStreamOf(order_id), 1, kMaxOrderEvents);
  if (!recorded.ok()) return recorded.status();
  if (recorded->size() == static_cast<size_t>(kMaxOrderEvents)) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "order ", order_id, " has more than ", kMaxOrderEvents, " events"));
  }
  LoadedOrder loaded;
  for (const eventstore::RecordedEvent& event : *recorded) {
    absl::StatusOr<OrderEvent> decoded =
        OrderEventFromJson(event.type, event.data_json);
    if (!decoded.ok()) return decoded.status();
    loaded.order = Evolve(std::move(loaded.order), *decoded, event.recorded_at);
    loaded.version = event.version;
    loaded.position = event.position;
  }
  return loaded;
}

absl::StatusOr<eventstore::AppendResult> EventOrderStore::Append(
    const std::string& order_id, int64_t expected_version,
    const std::vector<OrderEvent>& events,
    const eventstore::Metadata& metadata) {
  return events_->Append(OrderStreamOf(order_id),
                         eventstore::ExpectedVersion::Exactly(expected_version),
                         OrderEventData(events, metadata));
}

std::vector<eventstore::Migration> EventOrderStore::Migrations() {
  std::vector<eventstore::Migration> migrations = {
      {"0200_orders_by_customer",
       absl::StrCat("\nCREATE INDEX orders_by_customer ON {schema}.events\n"
                    "  ((data->>'customerId'), position DESC) WHERE type = '",
                    OrderPlacedType(), "';\n")}};
  // The read models' own (0210 onwards), kept beside their SQL.
  for (auto* models : {&CustomerCarts::Migrations, &SalesByDay::Migrations}) {
    for (eventstore::Migration& migration : models()) {
      migrations.push_back(std::move(migration));
    }
  }
  return migrations;
}

absl::StatusOr<std::vector<PlacedOrder>> EventOrderStore::ListPlaced(
    const std::string& customer_id, int64_t before, int max_count) {
  const std::string name = events_->schema() + "_list_placed_orders";
  const std::string sql = absl::StrCat(
      "SELECT stream_id, position FROM ", events_->schema(),
      ".events WHERE type = '", OrderPlacedType(),
      "' AND data->>'customerId' = $1 "
      "AND ($2 = 0 OR position < $2) ORDER BY position DESC LIMIT $3");
  const std::string prefix = OrderStreamOf("");
  std::vector<PlacedOrder> placed;
  absl::Status status = events_->pool().Run([&](eventstore::Connection& c) {
    c.Prepare(name, sql);
    pqxx::nontransaction tx(c.raw());
    for (const pqxx::row& row :
         tx.exec_prepared(name, customer_id, before, max_count)) {
      const std::string stream = row[0].as<std::string>();
      placed.push_back({stream.substr(prefix.size()), row[1].as<int64_t>()});
    }
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return placed;
}

}  // namespace cart
