#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/inventory/domain/events.h"
#include "services/inventory/domain/product.h"

// The inventory's commands and the rules that decide them. Every decision
// has one shape: (product id, command, product, facts) -> the events to
// append, none for a repeat that changes nothing, or the refusal. Pure.
namespace inventory {

// What a decision may know besides the product, loaded before it runs.
struct Facts {
  // The latest event in history with the command's id, when the command
  // has one, the state does not show it and history was asked.
  Past past;
  absl::Time now;
};

struct AddProductCommand {
  std::string name;
  int64_t price_cents = 0;
  int64_t initial_quantity = 0;
};
struct ReceiveStockCommand {
  std::string warehouse_id;  // empty: main
  int64_t quantity = 0;
  std::string reference;
  std::string receipt_id;  // empty: not idempotent
  std::string supplier;
  int64_t unit_cost_cents = 0;
};
struct ReserveStockCommand {
  int64_t quantity = 0;
  std::string reservation_id;
  absl::Duration ttl;
  std::string warehouse_id;  // empty: inventory allocates
};
struct ReleaseStockCommand {
  std::string reservation_id;
  std::optional<int64_t> quantity;  // none: all of it
  std::string release_id;           // a partial release's own id
};
struct CommitReservationCommand {
  std::string reservation_id;
  std::string order_id;
};
struct ShipStockCommand {
  std::string order_id;
  std::string shipment_id;
  int64_t quantity = 0;
};
struct CancelCommitmentCommand {
  std::string order_id;
  std::string reason;
};
struct ReturnStockCommand {
  std::string order_id;
  std::string return_id;
  std::string warehouse_id;  // empty: main
  int64_t quantity = 0;
  v1::ReturnReason reason = v1::RETURN_REASON_UNSPECIFIED;
  v1::ReturnCondition condition = v1::RETURN_CONDITION_UNSPECIFIED;
};
struct TransferStockCommand {
  std::string transfer_id;
  std::string from_warehouse_id;
  std::string to_warehouse_id;
  int64_t quantity = 0;
};
struct ReceiveTransferCommand {
  std::string transfer_id;
  int64_t quantity_received = 0;
};
struct AdjustStockCommand {
  std::string adjustment_id;
  std::string warehouse_id;  // empty: main
  // Exactly one of the two.
  std::optional<int64_t> counted_quantity;
  std::optional<int64_t> delta;
  v1::AdjustmentReason reason = v1::ADJUSTMENT_REASON_UNSPECIFIED;
  std::string notes;
  v1::StockBucket bucket = v1::STOCK_BUCKET_UNSPECIFIED;
};
// The sweep's: expire what is overdue.
struct ExpireCommand {};

// How a command is recognised in history, and whether deciding it needs
// that history whenever the state does not show the id (otherwise history
// is asked only once a unique index has said the id was used before).
// With `confirm_refusals`, a refusal is also checked against history: a
// repeat of a movement whose effect the state shows (its units shipped,
// say) would otherwise be refused instead of answered.
struct HistoryNeed {
  std::optional<HistoryKey> key;
  bool always = false;
  bool confirm_refusals = false;
};
HistoryNeed HistoryNeedOf(const AddProductCommand& command);
HistoryNeed HistoryNeedOf(const ReceiveStockCommand& command);
HistoryNeed HistoryNeedOf(const ReserveStockCommand& command);
HistoryNeed HistoryNeedOf(const ReleaseStockCommand& command);
HistoryNeed HistoryNeedOf(const CommitReservationCommand& command);
HistoryNeed HistoryNeedOf(const ShipStockCommand& command);
HistoryNeed HistoryNeedOf(const CancelCommitmentCommand& command);
HistoryNeed HistoryNeedOf(const ReturnStockCommand& command);
HistoryNeed HistoryNeedOf(const TransferStockCommand& command);
HistoryNeed HistoryNeedOf(const ReceiveTransferCommand& command);
HistoryNeed HistoryNeedOf(const AdjustStockCommand& command);
HistoryNeed HistoryNeedOf(const ExpireCommand& command);

using Decision = absl::StatusOr<std::vector<Event>>;

Decision Decide(const std::string& product_id, const AddProductCommand& command,
                const Product& product, const Facts& facts);
Decision Decide(const std::string& product_id,
                const ReceiveStockCommand& command, const Product& product,
                const Facts& facts);
// Overdue reservations are expired first, so stock that is due back counts.
Decision Decide(const std::string& product_id,
                const ReserveStockCommand& command, const Product& product,
                const Facts& facts);
Decision Decide(const std::string& product_id,
                const ReleaseStockCommand& command, const Product& product,
                const Facts& facts);
Decision Decide(const std::string& product_id,
                const CommitReservationCommand& command, const Product& product,
                const Facts& facts);
Decision Decide(const std::string& product_id, const ShipStockCommand& command,
                const Product& product, const Facts& facts);
Decision Decide(const std::string& product_id,
                const CancelCommitmentCommand& command, const Product& product,
                const Facts& facts);
Decision Decide(const std::string& product_id,
                const ReturnStockCommand& command, const Product& product,
                const Facts& facts);
Decision Decide(const std::string& product_id,
                const TransferStockCommand& command, const Product& product,
                const Facts& facts);
Decision Decide(const std::string& product_id,
                const ReceiveTransferCommand& command, const Product& product,
                const Facts& facts);
Decision Decide(const std::string& product_id,
                const AdjustStockCommand& command, const Product& product,
                const Facts& facts);
Decision Decide(const std::string& product_id, const ExpireCommand& command,
                const Product& product, const Facts& facts);

// Bounds the events of one decision; the sweep comes back for the rest.
inline constexpr size_t kMaxExpiriesPerDecision = 100;

// Expires the reservations whose time has come, soonest first, at most
// kMaxExpiriesPerDecision of them.
std::vector<Event> DecideExpire(const Product& product, absl::Time now);

// Where a reservation of `quantity` with no warehouse named goes: one
// warehouse that has it all (most available first, ties by id), else a
// split in that order; empty when the product has too little.
Lines Allocate(const Product& product, int64_t quantity);

}  // namespace inventory
