#include "services/cart/store/order_store.h"

#include <utility>

#include "absl/strings/str_cat.h"

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

absl::StatusOr<LoadedOrder> OrderStore::Load(const std::string& order_id) {
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
  }
  return loaded;
}

absl::StatusOr<eventstore::AppendResult> OrderStore::Append(
    const std::string& order_id, int64_t expected_version,
    const std::vector<OrderEvent>& events,
    const eventstore::Metadata& metadata) {
  return events_->Append(OrderStreamOf(order_id),
                         eventstore::ExpectedVersion::Exactly(expected_version),
                         OrderEventData(events, metadata));
}

}  // namespace cart
