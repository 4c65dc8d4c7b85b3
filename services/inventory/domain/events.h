#pragma once

#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "inventory/v1/events.pb.h"

// The events of a product's stream, their stored names and JSON, and the
// ids by which history recognises a repeated command. Pure.
namespace inventory {

inline constexpr char kErrorDomain[] = "inventory.v1";
// The warehouse of every call and stored event that names none.
inline constexpr char kMainWarehouse[] = "main";
// A warehouse's own stream `warehouse-{id}` holds this one event.
inline constexpr char kWarehouseAddedType[] = "warehouse.added";

using Event =
    std::variant<v1::ProductAdded, v1::StockReceived, v1::StockReserved,
                 v1::StockReleased, v1::ReservationExpired, v1::StockCommitted,
                 v1::StockShipped, v1::CommitmentCancelled, v1::StockReturned,
                 v1::TransferDispatched, v1::TransferReceived,
                 v1::StockAdjusted>;

// The stored type name, e.g. "stock.reserved".
absl::string_view TypeOf(const Event& event);
// Every type name a product's stream may hold.
const std::vector<std::string>& ProductEventTypes();
// The payload as JSON (protobuf JSON mapping, every field printed).
std::string ToJson(const Event& event);
// The inverse of (TypeOf, ToJson).
absl::StatusOr<Event> FromJson(absl::string_view type, absl::string_view json);

// The kinds of id a command is recognised by in history.
enum class IdKind {
  kReservation,  // reservation_id: the events that end a reservation
  kRelease,      // release_id of a partial release
  kReceipt,      // receipt_id
  kShipment,     // shipment_id
  kReturn,       // return_id
  kTransfer,     // transfer_id: dispatched, then received
  kAdjustment,   // adjustment_id
};

// A command's own id. A release by release_id also names its reservation,
// whose end history tells when the release itself is not there.
struct HistoryKey {
  IdKind kind = IdKind::kReservation;
  std::string id;
  std::string reservation_id;

  friend bool operator==(const HistoryKey&, const HistoryKey&) = default;
  template <typename H>
  friend H AbslHashValue(H h, const HistoryKey& key) {
    return H::combine(std::move(h), key.kind, key.id, key.reservation_id);
  }
};

// The event types that carry ids of `kind`, and the JSON field holding it.
const std::vector<std::string>& TypesCarrying(IdKind kind);
absl::string_view IdFieldOf(IdKind kind);

// The ids an event carries that a later command may ask history about.
std::vector<HistoryKey> KeysOf(const Event& event);

// What history holds about a command's id when the state no longer shows
// it: the latest event carrying it, and that event's version.
struct PastEvent {
  Event event;
  int64_t version = 0;
};
using Past = std::optional<PastEvent>;

}  // namespace inventory
