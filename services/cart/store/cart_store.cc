#include "services/cart/store/cart_store.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/util/proto_json.h"
#include "services/cart/store/cart_snapshot.h"
#include "services/cart/store/order_store.h"

namespace cart {
namespace {

std::vector<eventstore::EventData> CartEventData(
    const std::vector<Event>& events, const eventstore::Metadata& metadata) {
  return eventstore::NewEventData(
      events, metadata, [](const Event& e) { return TypeOf(e); },
      [](const Event& e) { return ToJson(e); });
}

}  // namespace

std::string StreamOf(const std::string& cart_id) {
  return absl::StrCat("cart-", cart_id);
}

absl::StatusOr<LoadedCart> EventCartStore::Load(const std::string& cart_id) {
  LoadedCart loaded;
  absl::StatusOr<int64_t> version = eventstore::LoadStream(
      *events_, StreamOf(cart_id),
      [&](const std::string& snapshot) {
        return Restore(snapshot, &loaded.cart);
      },
      [&](const eventstore::RecordedEvent& recorded) {
        absl::StatusOr<Event> event =
            FromJson(recorded.type, recorded.data_json);
        if (!event.ok()) return event.status();
        loaded.cart = Evolve(std::move(loaded.cart), *event);
        return absl::OkStatus();
      });
  if (!version.ok()) return version.status();
  loaded.version = *version;
  return loaded;
}

absl::StatusOr<eventstore::AppendResult> EventCartStore::Append(
    const std::string& cart_id, int64_t expected_version,
    const std::vector<Event>& events, const Cart& after,
    const eventstore::Metadata& metadata, absl::Time deadline) {
  const eventstore::SnapshotWrite snapshot{SnapshotJson(after), std::nullopt};
  return events_->Append(StreamOf(cart_id),
                         eventstore::ExpectedVersion::Exactly(expected_version),
                         CartEventData(events, metadata), &snapshot, deadline);
}

void EventCartStore::AppendAsync(const std::string& cart_id,
                                 int64_t expected_version,
                                 const std::vector<Event>& events,
                                 const Cart& after,
                                 const eventstore::Metadata& metadata,
                                 absl::Time deadline,
                                 eventstore::AppendCallback done) {
  events_->AppendAsync(
      StreamOf(cart_id), eventstore::ExpectedVersion::Exactly(expected_version),
      CartEventData(events, metadata),
      eventstore::SnapshotWrite{SnapshotJson(after), std::nullopt},
      std::move(done), deadline);
}

absl::StatusOr<std::vector<eventstore::RecordedEvent>>
EventCartStore::ReadEvents(const std::string& cart_id, int64_t from_version,
                           int max_count) {
  return events_->ReadStreamForward(StreamOf(cart_id), from_version, max_count);
}

absl::StatusOr<eventstore::AppendResult> EventCartStore::AppendCheckout(
    const std::string& cart_id, int64_t expected_version,
    const std::vector<Event>& events, const Cart& after,
    const eventstore::Metadata& metadata, const std::string& order_id,
    const v1::OrderPlaced& placed, const eventstore::Metadata& order_metadata) {
  const std::vector<OrderEvent> order_events = {placed};
  absl::StatusOr<std::vector<eventstore::AppendResult>> written =
      events_->AppendMany(
          {{StreamOf(cart_id),
            eventstore::ExpectedVersion::Exactly(expected_version),
            CartEventData(events, metadata),
            eventstore::SnapshotWrite{SnapshotJson(after), std::nullopt}},
           {OrderStreamOf(order_id), eventstore::ExpectedVersion::NoStream(),
            OrderEventData(order_events, order_metadata), std::nullopt}});
  if (!written.ok()) return written.status();
  // The cart's version, and the position past both streams' events.
  eventstore::AppendResult result = written->front();
  result.position = std::max(result.position, written->back().position);
  return result;
}

}  // namespace cart
