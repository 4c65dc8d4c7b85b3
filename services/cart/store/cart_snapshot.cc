#include "services/cart/store/cart_snapshot.h"

#include "common/util/proto_json.h"

namespace cart {

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

}  // namespace cart
