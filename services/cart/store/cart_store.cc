#include "services/cart/store/cart_store.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/util/proto_json.h"
#include "services/cart/store/order_store.h"

namespace cart {
namespace {

std::string SnapshotJson(const Cart& cart) {
  v1::CartSnapshot snapshot;
  snapshot.set_customer_id(cart.customer_id);
  for (const Line& line : cart.lines) {
    v1::CartSnapshot::Line* out = snapshot.add_lines();
    out->set_reservation_id(line.reservation_id);
    out->set_product_id(line.product_id);
    out->set_quantity(line.quantity);
    out->set_unit_price_cents(line.unit_price_cents);
    for (const PartialRelease& release : line.releases) {
      v1::CartSnapshot::PartialRelease* part = out->add_releases();
      part->set_release_id(release.release_id);
      part->set_quantity(release.quantity);
    }
  }
  snapshot.set_checkout_started(cart.checkout_started);
  for (const std::string& id : cart.sold) snapshot.add_sold_reservation_ids(id);
  snapshot.set_checked_out(cart.checked_out);
  snapshot.set_order_id(cart.order_id);
  return shop::ToJson(snapshot);
}

absl::Status Restore(const std::string& json, Cart* cart) {
  v1::CartSnapshot snapshot;
  if (absl::Status status = shop::FromJson(json, &snapshot); !status.ok()) {
    return status;
  }
  cart->exists = true;
  cart->customer_id = snapshot.customer_id();
  for (const v1::CartSnapshot::Line& line : snapshot.lines()) {
    Line& restored = cart->lines.emplace_back(
        Line{line.reservation_id(), line.product_id(), line.quantity(),
             line.unit_price_cents()});
    for (const v1::CartSnapshot::PartialRelease& part : line.releases()) {
      restored.releases.push_back({part.release_id(), part.quantity()});
    }
  }
  cart->checkout_started = snapshot.checkout_started();
  cart->sold.assign(snapshot.sold_reservation_ids().begin(),
                    snapshot.sold_reservation_ids().end());
  cart->checked_out = snapshot.checked_out();
  cart->order_id = snapshot.order_id();
  return absl::OkStatus();
}

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
    const eventstore::Metadata& metadata) {
  const eventstore::SnapshotWrite snapshot{SnapshotJson(after), std::nullopt};
  return events_->Append(StreamOf(cart_id),
                         eventstore::ExpectedVersion::Exactly(expected_version),
                         CartEventData(events, metadata), &snapshot);
}

void EventCartStore::AppendAsync(const std::string& cart_id,
                                 int64_t expected_version,
                                 const std::vector<Event>& events,
                                 const Cart& after,
                                 const eventstore::Metadata& metadata,
                                 eventstore::AppendCallback done) {
  events_->AppendAsync(
      StreamOf(cart_id), eventstore::ExpectedVersion::Exactly(expected_version),
      CartEventData(events, metadata),
      eventstore::SnapshotWrite{SnapshotJson(after), std::nullopt},
      std::move(done));
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
  return written->front();
}

}  // namespace cart
