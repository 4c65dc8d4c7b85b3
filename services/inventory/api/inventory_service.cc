// Owns the handlers of the inventory's writes: the command each request is,
// and the response made of its outcome.
#include "services/inventory/api/inventory_service.h"

#include <optional>
#include <utility>

#include "common/eventstore/position_token.h"
#include "common/rpc/call_metadata.h"
#include "common/rpc/status_mapping.h"
#include "common/server/validation.h"
#include "common/util/proto_time.h"
#include "services/inventory/api/stock_response.h"

namespace inventory {
namespace {

// Starts a write whose answer finishes the call, once `request` is valid.
template <typename Request, typename Start>
grpc::ServerUnaryReactor* Write(grpc::CallbackServerContext* context,
                                const Request& request,
                                const shop::IdentityPolicy& identity,
                                Start start) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (absl::Status valid = shop::FirstError(
          {shop::ValidateCallHeaders(*context, identity), Validate(request)});
      !valid.ok()) {
    reactor->Finish(shop::ToGrpcStatus(valid));
    return reactor;
  }
  start(reactor, shop::ContextOf(*context, request, identity));
  return reactor;
}

// Finishes the call with the command's error, or with what `respond` makes
// of its outcome.
template <typename Respond>
Done Answer(grpc::ServerUnaryReactor* reactor, Respond respond) {
  return [reactor, respond = std::move(respond)](
             absl::StatusOr<Outcome> outcome) mutable {
    reactor->Finish(outcome.ok() ? respond(*outcome)
                                 : shop::ToGrpcStatus(outcome.status()));
  };
}

template <typename Repeated, typename Lines>
void CopyLines(const Lines& lines, Repeated* out) {
  for (const v1::WarehouseQuantity& line : lines) *out->Add() = line;
}

const std::string& Main(const std::string& warehouse_id) {
  return WarehouseOr(warehouse_id);
}

std::optional<int64_t> Optional(bool has, int64_t value) {
  return has ? std::optional<int64_t>(value) : std::nullopt;
}

// The stream's version after the command, and the feed position of what
// it wrote.
template <typename Response>
void SetWritten(const Outcome& outcome, Response* response) {
  response->set_version(outcome.version);
  if (outcome.position.has_value()) {
    response->set_position(eventstore::EncodePositionToken(*outcome.position));
  }
}

grpc::Status Missing(absl::string_view what) {
  return shop::ToGrpcStatus(
      absl::InternalError(absl::StrCat("an answered ", what, " has no event")));
}

}  // namespace

grpc::ServerUnaryReactor* InventoryServiceImpl::AddProduct(
    grpc::CallbackServerContext* context, const v1::AddProductRequest* request,
    v1::AddProductResponse* response) {
  return Write(
      context, *request, identity_, [&](auto* reactor, CallContext call) {
        inventory_->Run(
            request->product_id(),
            AddProductCommand{request->name(), request->price_cents(),
                              request->initial_quantity()},
            std::move(call),
            Answer(reactor, [request, response](const Outcome& outcome) {
              response->set_product_id(request->product_id());
              SetWritten(outcome, response);
              return grpc::Status::OK;
            }));
      });
}

grpc::ServerUnaryReactor* InventoryServiceImpl::ReceiveStock(
    grpc::CallbackServerContext* context,
    const v1::ReceiveStockRequest* request,
    v1::ReceiveStockResponse* response) {
  return Write(
      context, *request, identity_, [&](auto* reactor, CallContext call) {
        inventory_->Run(
            request->product_id(),
            ReceiveStockCommand{request->warehouse_id(), request->quantity(),
                                request->reference(), request->receipt_id(),
                                request->supplier(),
                                request->unit_cost_cents()},
            std::move(call),
            Answer(reactor, [request, response](const Outcome& outcome) {
              response->set_on_hand(outcome.on_hand);
              response->set_available(outcome.available);
              SetWritten(outcome, response);
              const std::string& warehouse = Main(request->warehouse_id());
              FillWarehouse(warehouse, outcome.At(warehouse),
                            response->mutable_warehouse());
              return grpc::Status::OK;
            }));
      });
}

grpc::ServerUnaryReactor* InventoryServiceImpl::ReserveStock(
    grpc::CallbackServerContext* context,
    const v1::ReserveStockRequest* request,
    v1::ReserveStockResponse* response) {
  return Write(
      context, *request, identity_, [&](auto* reactor, CallContext call) {
        inventory_->Run(
            request->product_id(),
            ReserveStockCommand{request->quantity(), request->reservation_id(),
                                absl::Seconds(request->ttl_seconds()),
                                request->warehouse_id()},
            std::move(call),
            Answer(reactor, [request, response](const Outcome& outcome) {
              if (!outcome.reservation.has_value()) {
                return shop::ToGrpcStatus(
                    absl::InternalError("a granted reservation is not live"));
              }
              response->set_reservation_id(request->reservation_id());
              *response->mutable_expires_at() =
                  shop::ToProto(outcome.reservation->expires_at);
              response->set_unit_price_cents(outcome.price_cents);
              response->set_available(outcome.available);
              SetWritten(outcome, response);
              response->set_quantity(outcome.reservation->quantity);
              for (const Line& line : outcome.reservation->lines) {
                v1::WarehouseQuantity* out = response->add_lines();
                out->set_warehouse_id(line.warehouse_id);
                out->set_quantity(line.quantity);
              }
              return grpc::Status::OK;
            }));
      });
}

grpc::ServerUnaryReactor* InventoryServiceImpl::ReleaseStock(
    grpc::CallbackServerContext* context,
    const v1::ReleaseStockRequest* request,
    v1::ReleaseStockResponse* response) {
  return Write(
      context, *request, identity_, [&](auto* reactor, CallContext call) {
        inventory_->Run(
            request->product_id(),
            ReleaseStockCommand{
                request->reservation_id(),
                Optional(request->has_quantity(), request->quantity()),
                request->release_id()},
            std::move(call),
            Answer(reactor, [request, response](const Outcome& outcome) {
              // A repeat of a release by its own id answers what it released; a
              // release of an ended reservation released nothing.
              const auto* released = outcome.Written<v1::StockReleased>();
              if (released != nullptr && outcome.events.empty() &&
                  (request->release_id().empty() ||
                   released->release_id() != request->release_id())) {
                released = nullptr;
              }
              if (released != nullptr) {
                response->set_released_quantity(released->quantity());
              }
              response->set_remaining_quantity(
                  outcome.reservation.has_value()
                      ? outcome.reservation->quantity
                      : 0);
              response->set_available(outcome.available);
              SetWritten(outcome, response);
              return grpc::Status::OK;
            }));
      });
}

grpc::ServerUnaryReactor* InventoryServiceImpl::CommitReservation(
    grpc::CallbackServerContext* context,
    const v1::CommitReservationRequest* request,
    v1::CommitReservationResponse* response) {
  return Write(
      context, *request, identity_, [&](auto* reactor, CallContext call) {
        inventory_->Run(
            request->product_id(),
            CommitReservationCommand{request->reservation_id(),
                                     request->order_id()},
            std::move(call),
            Answer(reactor, [response](const Outcome& outcome) {
              if (const auto* committed =
                      outcome.Written<v1::StockCommitted>()) {
                response->set_committed_quantity(committed->quantity());
                CopyLines(committed->lines(), response->mutable_lines());
              }
              response->set_on_hand(outcome.on_hand);
              SetWritten(outcome, response);
              return grpc::Status::OK;
            }));
      });
}

grpc::ServerUnaryReactor* InventoryServiceImpl::ShipStock(
    grpc::CallbackServerContext* context, const v1::ShipStockRequest* request,
    v1::ShipStockResponse* response) {
  return Write(
      context, *request, identity_, [&](auto* reactor, CallContext call) {
        inventory_->Run(
            request->product_id(),
            ShipStockCommand{request->order_id(), request->shipment_id(),
                             request->quantity()},
            std::move(call),
            Answer(reactor, [response](const Outcome& outcome) {
              const auto* shipped = outcome.Written<v1::StockShipped>();
              if (shipped == nullptr) return Missing("shipment");
              response->set_shipped_quantity(shipped->quantity());
              CopyLines(shipped->lines(), response->mutable_lines());
              response->set_on_hand(outcome.on_hand);
              SetWritten(outcome, response);
              return grpc::Status::OK;
            }));
      });
}

grpc::ServerUnaryReactor* InventoryServiceImpl::CancelCommitment(
    grpc::CallbackServerContext* context,
    const v1::CancelCommitmentRequest* request,
    v1::CancelCommitmentResponse* response) {
  return Write(
      context, *request, identity_, [&](auto* reactor, CallContext call) {
        inventory_->Run(
            request->product_id(),
            CancelCommitmentCommand{request->order_id(), request->reason()},
            std::move(call),
            Answer(reactor, [response](const Outcome& outcome) {
              // Cancelling again is a no-op that gives back nothing more.
              if (const auto* cancelled =
                      outcome.Written<v1::CommitmentCancelled>()) {
                response->set_cancelled_quantity(cancelled->quantity());
                CopyLines(cancelled->lines(), response->mutable_lines());
              }
              response->set_available(outcome.available);
              SetWritten(outcome, response);
              return grpc::Status::OK;
            }));
      });
}

grpc::ServerUnaryReactor* InventoryServiceImpl::ReturnStock(
    grpc::CallbackServerContext* context, const v1::ReturnStockRequest* request,
    v1::ReturnStockResponse* response) {
  return Write(
      context, *request, identity_, [&](auto* reactor, CallContext call) {
        inventory_->Run(
            request->product_id(),
            ReturnStockCommand{request->order_id(), request->return_id(),
                               request->warehouse_id(), request->quantity(),
                               request->reason(), request->condition()},
            std::move(call),
            Answer(reactor, [request, response](const Outcome& outcome) {
              const auto* returned = outcome.Written<v1::StockReturned>();
              if (returned == nullptr) return Missing("return");
              response->set_returned_quantity(returned->quantity());
              const std::string& warehouse = Main(request->warehouse_id());
              FillWarehouse(warehouse, outcome.At(warehouse),
                            response->mutable_warehouse());
              SetWritten(outcome, response);
              return grpc::Status::OK;
            }));
      });
}

grpc::ServerUnaryReactor* InventoryServiceImpl::TransferStock(
    grpc::CallbackServerContext* context,
    const v1::TransferStockRequest* request,
    v1::TransferStockResponse* response) {
  return Write(
      context, *request, identity_, [&](auto* reactor, CallContext call) {
        inventory_->Run(
            request->product_id(),
            TransferStockCommand{
                request->transfer_id(), Main(request->from_warehouse_id()),
                Main(request->to_warehouse_id()), request->quantity()},
            std::move(call),
            Answer(reactor, [request, response](const Outcome& outcome) {
              const std::string& from = Main(request->from_warehouse_id());
              const std::string& to = Main(request->to_warehouse_id());
              FillWarehouse(from, outcome.At(from),
                            response->mutable_from_warehouse());
              FillWarehouse(to, outcome.At(to),
                            response->mutable_to_warehouse());
              SetWritten(outcome, response);
              return grpc::Status::OK;
            }));
      });
}

grpc::ServerUnaryReactor* InventoryServiceImpl::ReceiveTransfer(
    grpc::CallbackServerContext* context,
    const v1::ReceiveTransferRequest* request,
    v1::ReceiveTransferResponse* response) {
  return Write(
      context, *request, identity_, [&](auto* reactor, CallContext call) {
        inventory_->Run(
            request->product_id(),
            ReceiveTransferCommand{request->transfer_id(),
                                   request->quantity_received()},
            std::move(call),
            Answer(reactor, [response](const Outcome& outcome) {
              const auto* received = outcome.Written<v1::TransferReceived>();
              if (received == nullptr) return Missing("transfer");
              response->set_quantity_received(received->quantity_received());
              response->set_quantity_lost(received->quantity_lost());
              FillWarehouse(received->to_warehouse_id(),
                            outcome.At(received->to_warehouse_id()),
                            response->mutable_to_warehouse());
              SetWritten(outcome, response);
              return grpc::Status::OK;
            }));
      });
}

grpc::ServerUnaryReactor* InventoryServiceImpl::AdjustStock(
    grpc::CallbackServerContext* context, const v1::AdjustStockRequest* request,
    v1::AdjustStockResponse* response) {
  return Write(
      context, *request, identity_, [&](auto* reactor, CallContext call) {
        AdjustStockCommand command{request->adjustment_id(),
                                   request->warehouse_id(),
                                   std::nullopt,
                                   std::nullopt,
                                   request->reason(),
                                   request->notes(),
                                   request->bucket()};
        if (request->has_counted_quantity()) {
          command.counted_quantity = request->counted_quantity();
        } else {
          command.delta = request->delta();
        }
        inventory_->Run(
            request->product_id(), std::move(command), std::move(call),
            Answer(reactor, [request, response](const Outcome& outcome) {
              const auto* adjusted = outcome.Written<v1::StockAdjusted>();
              if (adjusted == nullptr) return Missing("adjustment");
              response->set_delta(adjusted->delta());
              response->set_previous_quantity(adjusted->previous_quantity());
              response->set_new_quantity(adjusted->new_quantity());
              const std::string& warehouse = Main(request->warehouse_id());
              FillWarehouse(warehouse, outcome.At(warehouse),
                            response->mutable_warehouse());
              SetWritten(outcome, response);
              return grpc::Status::OK;
            }));
      });
}

grpc::Status InventoryServiceImpl::AddWarehouse(
    grpc::ServerContext* context, const v1::AddWarehouseRequest* request,
    v1::AddWarehouseResponse* response) {
  if (absl::Status valid = shop::FirstError(
          {shop::ValidateCallHeaders(*context, identity_), Validate(*request)});
      !valid.ok()) {
    return shop::ToGrpcStatus(valid);
  }
  absl::StatusOr<WarehouseRecord> added = inventory_->AddWarehouse(
      request->warehouse_id(), request->name(),
      CallContext{shop::MetadataFromCall(*context, identity_), std::nullopt});
  if (!added.ok()) return shop::ToGrpcStatus(added.status());
  v1::Warehouse* out = response->mutable_warehouse();
  out->set_warehouse_id(added->warehouse_id);
  out->set_name(added->name);
  *out->mutable_added_at() = shop::ToProto(added->added_at);
  return grpc::Status::OK;
}

grpc::Status InventoryServiceImpl::ListWarehouses(
    grpc::ServerContext* /*context*/, const v1::ListWarehousesRequest* request,
    v1::ListWarehousesResponse* response) {
  if (absl::Status valid = Validate(*request); !valid.ok()) {
    return shop::ToGrpcStatus(valid);
  }
  const int page = request->page_size() == 0 ? 100 : request->page_size();
  absl::StatusOr<std::vector<WarehouseRecord>> listed =
      inventory_->ListWarehouses(request->page_token(), page);
  if (!listed.ok()) return shop::ToGrpcStatus(listed.status());
  for (const WarehouseRecord& warehouse : *listed) {
    v1::Warehouse* out = response->add_warehouses();
    out->set_warehouse_id(warehouse.warehouse_id);
    out->set_name(warehouse.name);
    *out->mutable_added_at() = shop::ToProto(warehouse.added_at);
  }
  if (static_cast<int>(listed->size()) == page) {
    response->set_next_page_token(listed->back().warehouse_id);
  }
  return grpc::Status::OK;
}

}  // namespace inventory
