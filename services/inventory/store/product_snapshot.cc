// Owns the codec of a product's folded state, as the snapshot row and the
// historical checkpoints store it.
#include "services/inventory/store/product_snapshot.h"

#include "common/util/proto_json.h"
#include "common/util/proto_time.h"

namespace inventory {

std::string SnapshotJson(const Product& product) {
  v1::ProductSnapshot snapshot;
  snapshot.set_name(product.name);
  snapshot.set_price_cents(product.price_cents);
  snapshot.set_on_hand(product.on_hand);
  for (const auto& [id, reservation] : product.reservations()) {
    v1::ProductSnapshot::Reservation& out =
        (*snapshot.mutable_reservations())[id];
    out.set_quantity(reservation.quantity);
    *out.mutable_expires_at() = shop::ToProto(reservation.expires_at);
  }
  return shop::ToJson(snapshot);
}

absl::StatusOr<Product> FromSnapshot(const std::string& json) {
  v1::ProductSnapshot snapshot;
  if (absl::Status status = shop::FromJson(json, &snapshot); !status.ok()) {
    return status;
  }
  Product product;
  product.exists = true;
  product.name = snapshot.name();
  product.price_cents = snapshot.price_cents();
  product.on_hand = snapshot.on_hand();
  for (const auto& [id, reservation] : snapshot.reservations()) {
    product.Hold(id, Reservation{reservation.quantity(),
                                 shop::FromProto(reservation.expires_at())});
  }
  return product;
}

}  // namespace inventory
