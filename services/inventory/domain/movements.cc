// Owns the rules of the stock movements besides reservations: receipts,
// shipments, cancelled commitments, returns, transfers and adjustments.
#include <algorithm>
#include <initializer_list>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/errors/errors.h"
#include "services/inventory/domain/commands.h"
#include "services/inventory/domain/domain_errors.h"

namespace inventory {
namespace {

struct Field {
  absl::string_view name;
  std::string first;
  std::string now;
};

// A repeat whose content differs is refused naming the first field that
// does; a faithful repeat changes nothing.
Decision Repeat(absl::string_view reason, const std::string& product_id,
                absl::string_view what, const std::string& id,
                std::initializer_list<Field> fields) {
  for (const Field& field : fields) {
    if (field.first != field.now) {
      return errors::Mismatch(reason, product_id, what, id, field.name,
                              field.first, field.now);
    }
  }
  return std::vector<Event>{};
}

std::string Str(int64_t value) { return absl::StrCat(value); }

// The earlier event of type T in `past` whose id is `id`, if any.
template <typename T, typename IdOf>
const T* Earlier(const Past& past, const std::string& id, IdOf id_of) {
  if (!past.has_value()) return nullptr;
  const T* event = std::get_if<T>(&past->event);
  return event != nullptr && id_of(*event) == id ? event : nullptr;
}

std::optional<HistoryKey> KeyIf(IdKind kind, const std::string& id) {
  if (id.empty()) return std::nullopt;
  return HistoryKey{kind, id, ""};
}

absl::Status OrderNotFound(const std::string& product_id,
                           const std::string& order_id) {
  return shop::MakeError(
      absl::StatusCode::kNotFound, kErrorDomain, "ORDER_NOT_FOUND",
      absl::StrCat("order ", order_id, " holds nothing of ", product_id),
      {{"product_id", product_id}, {"order_id", order_id}});
}

}  // namespace

HistoryNeed HistoryNeedOf(const ReceiveStockCommand& command) {
  return {KeyIf(IdKind::kReceipt, command.receipt_id), false};
}
// A repeat of a movement that used up what it moved (an order shipped
// whole, all of it returned, a transfer that emptied its source and has
// arrived, a delta down to zero) is refused by the rule before any append
// could meet the unique index: such refusals are confirmed in history.
HistoryNeed HistoryNeedOf(const ShipStockCommand& command) {
  return {KeyIf(IdKind::kShipment, command.shipment_id), false, true};
}
HistoryNeed HistoryNeedOf(const CancelCommitmentCommand&) { return {}; }
HistoryNeed HistoryNeedOf(const ReturnStockCommand& command) {
  return {KeyIf(IdKind::kReturn, command.return_id), false, true};
}
HistoryNeed HistoryNeedOf(const TransferStockCommand& command) {
  return {KeyIf(IdKind::kTransfer, command.transfer_id), false, true};
}
HistoryNeed HistoryNeedOf(const ReceiveTransferCommand& command) {
  // Not in transit: history says whether it arrived or never left.
  return {KeyIf(IdKind::kTransfer, command.transfer_id), true};
}
HistoryNeed HistoryNeedOf(const AdjustStockCommand& command) {
  return {KeyIf(IdKind::kAdjustment, command.adjustment_id), false, true};
}

Decision Decide(const std::string& product_id,
                const ReceiveStockCommand& command, const Product& product,
                const Facts& facts) {
  if (!product.exists) return errors::ProductNotFound(product_id);
  const std::string& warehouse = WarehouseOr(command.warehouse_id);
  if (const auto* first = Earlier<v1::StockReceived>(
          facts.past, command.receipt_id,
          [](const v1::StockReceived& e) { return e.receipt_id(); })) {
    return Repeat(
        "RECEIPT_MISMATCH", product_id, "receipt", command.receipt_id,
        {{"warehouse_id", WarehouseOr(first->warehouse_id()), warehouse},
         {"quantity", Str(first->quantity()), Str(command.quantity)},
         {"reference", first->reference(), command.reference},
         {"supplier", first->supplier(), command.supplier},
         {"unit_cost_cents", Str(first->unit_cost_cents()),
          Str(command.unit_cost_cents)}});
  }
  v1::StockReceived received;
  received.set_quantity(command.quantity);
  received.set_reference(command.reference);
  received.set_warehouse_id(warehouse);
  received.set_receipt_id(command.receipt_id);
  received.set_supplier(command.supplier);
  received.set_unit_cost_cents(command.unit_cost_cents);
  return std::vector<Event>{received};
}

Decision Decide(const std::string& product_id, const ShipStockCommand& command,
                const Product& product, const Facts& facts) {
  if (!product.exists) return errors::ProductNotFound(product_id);
  if (const auto* first = Earlier<v1::StockShipped>(
          facts.past, command.shipment_id,
          [](const v1::StockShipped& e) { return e.shipment_id(); })) {
    return Repeat(
        "SHIPMENT_MISMATCH", product_id, "shipment", command.shipment_id,
        {{"order_id", first->order_id(), command.order_id},
         {"quantity", Str(first->quantity()), Str(command.quantity)}});
  }
  auto order = product.orders().find(command.order_id);
  const int64_t unshipped =
      order == product.orders().end() ? 0 : order->second.unshipped();
  if (unshipped < command.quantity) {
    return shop::MakeError(
        absl::StatusCode::kFailedPrecondition, kErrorDomain, "NOTHING_TO_SHIP",
        absl::StrCat("order ", command.order_id, " has ", unshipped,
                     " units of ", product_id,
                     " committed and not shipped, cannot ship ",
                     command.quantity),
        {{"product_id", product_id},
         {"order_id", command.order_id},
         {"unshipped", Str(unshipped)},
         {"requested", Str(command.quantity)}});
  }
  Lines lines;
  int64_t left = command.quantity;
  for (const auto& [warehouse, committed] : order->second.committed) {
    if (left == 0) break;
    const int64_t units = std::min(left, committed);
    // A count may have found fewer units than were sold: none to send.
    const int64_t on_hand = product.At(warehouse).on_hand;
    if (on_hand < units) {
      return errors::InsufficientStock(product_id, warehouse, units, on_hand);
    }
    lines.push_back({warehouse, units});
    left -= units;
  }
  v1::StockShipped shipped;
  shipped.set_order_id(command.order_id);
  shipped.set_shipment_id(command.shipment_id);
  shipped.set_quantity(command.quantity);
  SetLines(lines, shipped.mutable_lines());
  return std::vector<Event>{shipped};
}

Decision Decide(const std::string& product_id,
                const CancelCommitmentCommand& command, const Product& product,
                const Facts& /*facts*/) {
  if (!product.exists) return errors::ProductNotFound(product_id);
  auto order = product.orders().find(command.order_id);
  if (order == product.orders().end()) {
    return OrderNotFound(product_id, command.order_id);
  }
  const int64_t unshipped = order->second.unshipped();
  if (unshipped == 0) {
    if (order->second.cancelled) return std::vector<Event>{};
    return errors::Refused(
        "NOTHING_TO_CANCEL", product_id,
        absl::StrCat("order ", command.order_id, " of ", product_id,
                     " has shipped everything it committed"));
  }
  v1::CommitmentCancelled cancelled;
  cancelled.set_order_id(command.order_id);
  cancelled.set_reason(command.reason);
  cancelled.set_quantity(unshipped);
  for (const auto& [warehouse, units] : order->second.committed) {
    v1::WarehouseQuantity* line = cancelled.add_lines();
    line->set_warehouse_id(warehouse);
    line->set_quantity(units);
  }
  return std::vector<Event>{cancelled};
}

Decision Decide(const std::string& product_id,
                const ReturnStockCommand& command, const Product& product,
                const Facts& facts) {
  if (!product.exists) return errors::ProductNotFound(product_id);
  const std::string& warehouse = WarehouseOr(command.warehouse_id);
  if (const auto* first = Earlier<v1::StockReturned>(
          facts.past, command.return_id,
          [](const v1::StockReturned& e) { return e.return_id(); })) {
    return Repeat(
        "RETURN_MISMATCH", product_id, "return", command.return_id,
        {{"order_id", first->order_id(), command.order_id},
         {"warehouse_id", WarehouseOr(first->warehouse_id()), warehouse},
         {"quantity", Str(first->quantity()), Str(command.quantity)},
         {"reason", v1::ReturnReason_Name(first->reason()),
          v1::ReturnReason_Name(command.reason)},
         {"condition", v1::ReturnCondition_Name(first->condition()),
          v1::ReturnCondition_Name(command.condition)}});
  }
  auto order = product.orders().find(command.order_id);
  const int64_t shipped =
      order == product.orders().end() ? 0 : order->second.shipped;
  const int64_t returned =
      order == product.orders().end() ? 0 : order->second.returned;
  if (command.quantity > shipped - returned) {
    return shop::MakeError(
        absl::StatusCode::kFailedPrecondition, kErrorDomain,
        "RETURN_EXCEEDS_SHIPPED",
        absl::StrCat("order ", command.order_id, " shipped ", shipped,
                     " units of ", product_id, " and returned ", returned,
                     ": cannot return ", command.quantity, " more"),
        {{"product_id", product_id},
         {"order_id", command.order_id},
         {"shipped", Str(shipped)},
         {"returned", Str(returned)},
         {"requested", Str(command.quantity)}});
  }
  v1::StockReturned event;
  event.set_order_id(command.order_id);
  event.set_return_id(command.return_id);
  event.set_warehouse_id(warehouse);
  event.set_quantity(command.quantity);
  event.set_reason(command.reason);
  event.set_condition(command.condition);
  return std::vector<Event>{event};
}

Decision Decide(const std::string& product_id,
                const TransferStockCommand& command, const Product& product,
                const Facts& facts) {
  if (!product.exists) return errors::ProductNotFound(product_id);
  auto repeat = [&](const std::string& from, const std::string& to,
                    int64_t quantity) {
    return Repeat("TRANSFER_MISMATCH", product_id, "transfer",
                  command.transfer_id,
                  {{"from_warehouse_id", from, command.from_warehouse_id},
                   {"to_warehouse_id", to, command.to_warehouse_id},
                   {"quantity", Str(quantity), Str(command.quantity)}});
  };
  if (auto moving = product.transfers().find(command.transfer_id);
      moving != product.transfers().end()) {
    return repeat(moving->second.from_warehouse_id,
                  moving->second.to_warehouse_id, moving->second.quantity);
  }
  auto transfer_id = [](const auto& e) { return e.transfer_id(); };
  if (const auto* first = Earlier<v1::TransferDispatched>(
          facts.past, command.transfer_id, transfer_id)) {
    return repeat(first->from_warehouse_id(), first->to_warehouse_id(),
                  first->quantity());
  }
  if (const auto* arrived = Earlier<v1::TransferReceived>(
          facts.past, command.transfer_id, transfer_id)) {
    return repeat(arrived->from_warehouse_id(), arrived->to_warehouse_id(),
                  arrived->quantity_dispatched());
  }
  const int64_t available = product.At(command.from_warehouse_id).available();
  if (available < command.quantity) {
    return errors::InsufficientStock(product_id, command.from_warehouse_id,
                                     command.quantity, available);
  }
  v1::TransferDispatched dispatched;
  dispatched.set_transfer_id(command.transfer_id);
  dispatched.set_from_warehouse_id(command.from_warehouse_id);
  dispatched.set_to_warehouse_id(command.to_warehouse_id);
  dispatched.set_quantity(command.quantity);
  return std::vector<Event>{dispatched};
}

Decision Decide(const std::string& product_id,
                const ReceiveTransferCommand& command, const Product& product,
                const Facts& facts) {
  if (!product.exists) return errors::ProductNotFound(product_id);
  auto moving = product.transfers().find(command.transfer_id);
  if (moving == product.transfers().end()) {
    if (const auto* arrived = Earlier<v1::TransferReceived>(
            facts.past, command.transfer_id,
            [](const v1::TransferReceived& e) { return e.transfer_id(); })) {
      return shop::MakeError(
          absl::StatusCode::kFailedPrecondition, kErrorDomain,
          "TRANSFER_ALREADY_RECEIVED",
          absl::StrCat("transfer ", command.transfer_id, " of ", product_id,
                       " was already received (", arrived->quantity_received(),
                       " of ", arrived->quantity_dispatched(), " units)"),
          {{"product_id", product_id},
           {"transfer_id", command.transfer_id},
           {"quantity_received", Str(arrived->quantity_received())}});
    }
    return shop::MakeError(
        absl::StatusCode::kNotFound, kErrorDomain, "TRANSFER_NOT_FOUND",
        absl::StrCat("transfer ", command.transfer_id, " of ", product_id,
                     " was never dispatched"),
        {{"product_id", product_id}, {"transfer_id", command.transfer_id}});
  }
  const Transfer& transfer = moving->second;
  if (command.quantity_received > transfer.quantity) {
    return shop::MakeError(
        absl::StatusCode::kFailedPrecondition, kErrorDomain,
        "TRANSFER_OVER_RECEIVED",
        absl::StrCat("transfer ", command.transfer_id, " of ", product_id,
                     " dispatched ", transfer.quantity,
                     " units, cannot receive ", command.quantity_received),
        {{"product_id", product_id},
         {"transfer_id", command.transfer_id},
         {"dispatched", Str(transfer.quantity)}});
  }
  v1::TransferReceived received;
  received.set_transfer_id(command.transfer_id);
  received.set_from_warehouse_id(transfer.from_warehouse_id);
  received.set_to_warehouse_id(transfer.to_warehouse_id);
  received.set_quantity_dispatched(transfer.quantity);
  received.set_quantity_received(command.quantity_received);
  received.set_quantity_lost(transfer.quantity - command.quantity_received);
  return std::vector<Event>{received};
}

Decision Decide(const std::string& product_id,
                const AdjustStockCommand& command, const Product& product,
                const Facts& facts) {
  if (!product.exists) return errors::ProductNotFound(product_id);
  const std::string& warehouse = WarehouseOr(command.warehouse_id);
  const bool damaged = command.bucket == v1::STOCK_BUCKET_DAMAGED;
  const bool counted = command.counted_quantity.has_value();
  const int64_t given =
      counted ? *command.counted_quantity : command.delta.value_or(0);
  if (const auto* first = Earlier<v1::StockAdjusted>(
          facts.past, command.adjustment_id,
          [](const v1::StockAdjusted& e) { return e.adjustment_id(); })) {
    const bool first_damaged = first->bucket() == v1::STOCK_BUCKET_DAMAGED;
    return Repeat(
        "ADJUSTMENT_MISMATCH", product_id, "adjustment", command.adjustment_id,
        {{"warehouse_id", WarehouseOr(first->warehouse_id()), warehouse},
         {"bucket", first_damaged ? "DAMAGED" : "SELLABLE",
          damaged ? "DAMAGED" : "SELLABLE"},
         {counted ? "counted_quantity" : "delta",
          first->counted() == counted
              ? Str(counted ? first->new_quantity() : first->delta())
              : (first->counted() ? "a count" : "a delta"),
          Str(given)},
         {"reason", v1::AdjustmentReason_Name(first->reason()),
          v1::AdjustmentReason_Name(command.reason)}});
  }
  const WarehouseStock stock = product.At(warehouse);
  const int64_t previous = damaged ? stock.damaged : stock.on_hand;
  const int64_t next = counted ? given : previous + given;
  if (next < 0) {
    return shop::MakeError(
        absl::StatusCode::kFailedPrecondition, kErrorDomain,
        "ADJUSTMENT_BELOW_ZERO",
        absl::StrCat("adjusting ", product_id, " at ", warehouse, " by ", given,
                     " would leave ", next, " units"),
        {{"product_id", product_id},
         {"warehouse_id", warehouse},
         {"previous_quantity", Str(previous)}});
  }
  v1::StockAdjusted adjusted;
  adjusted.set_adjustment_id(command.adjustment_id);
  adjusted.set_warehouse_id(warehouse);
  adjusted.set_delta(next - previous);
  adjusted.set_previous_quantity(previous);
  adjusted.set_new_quantity(next);
  adjusted.set_reason(command.reason);
  adjusted.set_notes(command.notes);
  adjusted.set_bucket(damaged ? v1::STOCK_BUCKET_DAMAGED
                              : v1::STOCK_BUCKET_SELLABLE);
  adjusted.set_counted(counted);
  return std::vector<Event>{adjusted};
}

}  // namespace inventory
