// Owns the product stream's event catalogue: type names, the JSON codec, and
// which ids each event carries for idempotency look-ups.
#include "services/inventory/domain/events.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/util/event_codec.h"
#include "common/util/overloaded.h"

namespace inventory {
namespace {

// In the order of the Event variant's alternatives; TypeOf, FromJson and
// the SQL built from TypesCarrying all read it.
constexpr shop::EventCodec<Event> kCodec(
    "product.added", "stock.received", "stock.reserved", "stock.released",
    "reservation.expired", "stock.committed", "stock.shipped",
    "commitment.cancelled", "stock.returned", "transfer.dispatched",
    "transfer.received", "stock.adjusted");

template <typename T>
std::string NameOf() {
  return kCodec.NameOf<T>();
}

}  // namespace

absl::string_view TypeOf(const Event& event) { return kCodec.TypeOf(event); }

const std::vector<std::string>& ProductEventTypes() {
  static const auto* const kNames =
      new std::vector<std::string>(kCodec.Names());
  return *kNames;
}

std::string ToJson(const Event& event) { return kCodec.ToJson(event); }

absl::StatusOr<Event> FromJson(absl::string_view type, absl::string_view json) {
  return kCodec.FromJson(type, json);
}

const std::vector<std::string>& TypesCarrying(IdKind kind) {
  static const auto* const kEnded = new std::vector<std::string>{
      NameOf<v1::StockReleased>(), NameOf<v1::ReservationExpired>(),
      NameOf<v1::StockCommitted>()};
  static const auto* const kReleases =
      new std::vector<std::string>{NameOf<v1::StockReleased>()};
  static const auto* const kReceipts =
      new std::vector<std::string>{NameOf<v1::StockReceived>()};
  static const auto* const kShipments =
      new std::vector<std::string>{NameOf<v1::StockShipped>()};
  static const auto* const kReturns =
      new std::vector<std::string>{NameOf<v1::StockReturned>()};
  static const auto* const kTransfers = new std::vector<std::string>{
      NameOf<v1::TransferDispatched>(), NameOf<v1::TransferReceived>()};
  static const auto* const kAdjustments =
      new std::vector<std::string>{NameOf<v1::StockAdjusted>()};
  switch (kind) {
    case IdKind::kReservation:
      return *kEnded;
    case IdKind::kRelease:
      return *kReleases;
    case IdKind::kReceipt:
      return *kReceipts;
    case IdKind::kShipment:
      return *kShipments;
    case IdKind::kReturn:
      return *kReturns;
    case IdKind::kTransfer:
      return *kTransfers;
    case IdKind::kAdjustment:
      return *kAdjustments;
  }
  return *kEnded;
}

absl::string_view IdFieldOf(IdKind kind) {
  switch (kind) {
    case IdKind::kReservation:
      return "reservationId";
    case IdKind::kRelease:
      return "releaseId";
    case IdKind::kReceipt:
      return "receiptId";
    case IdKind::kShipment:
      return "shipmentId";
    case IdKind::kReturn:
      return "returnId";
    case IdKind::kTransfer:
      return "transferId";
    case IdKind::kAdjustment:
      return "adjustmentId";
  }
  return "";
}

std::vector<HistoryKey> KeysOf(const Event& event) {
  auto one = [](IdKind kind, const std::string& id) {
    if (id.empty()) return std::vector<HistoryKey>{};
    return std::vector<HistoryKey>{{kind, id, ""}};
  };
  return std::visit(shop::Overloaded{
                        [&](const v1::StockReleased& e) {
                          std::vector<HistoryKey> keys =
                              one(IdKind::kReservation, e.reservation_id());
                          if (!e.release_id().empty()) {
                            keys.push_back({IdKind::kRelease, e.release_id(),
                                            e.reservation_id()});
                          }
                          return keys;
                        },
                        [&](const v1::ReservationExpired& e) {
                          return one(IdKind::kReservation, e.reservation_id());
                        },
                        [&](const v1::StockCommitted& e) {
                          return one(IdKind::kReservation, e.reservation_id());
                        },
                        [&](const v1::StockReceived& e) {
                          return one(IdKind::kReceipt, e.receipt_id());
                        },
                        [&](const v1::StockShipped& e) {
                          return one(IdKind::kShipment, e.shipment_id());
                        },
                        [&](const v1::StockReturned& e) {
                          return one(IdKind::kReturn, e.return_id());
                        },
                        [&](const v1::TransferDispatched& e) {
                          return one(IdKind::kTransfer, e.transfer_id());
                        },
                        [&](const v1::TransferReceived& e) {
                          return one(IdKind::kTransfer, e.transfer_id());
                        },
                        [&](const v1::StockAdjusted& e) {
                          return one(IdKind::kAdjustment, e.adjustment_id());
                        },
                        [](const auto&) { return std::vector<HistoryKey>{}; },
                    },
                    event);
}

}  // namespace inventory
