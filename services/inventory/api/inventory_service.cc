// Owns the handlers of the inventory's writes: validation, the command, and
// the response made of its outcome.
#include "services/inventory/api/inventory_service.h"

#include <utility>

#include "common/rpc/call_metadata.h"
#include "common/rpc/status_mapping.h"
#include "common/server/validation.h"
#include "common/util/proto_time.h"

namespace inventory {
namespace {

constexpr int64_t kMaxPriceCents = 1'000'000'000;
constexpr int64_t kMaxTtlSeconds = 86'400;

}  // namespace

absl::Status Validate(const v1::AddProductRequest& request) {
  return shop::FirstError(
      {shop::ValidateId("product_id", request.product_id()),
       shop::ValidateText("name", request.name(), 1, 256),
       shop::ValidateRange("price_cents", request.price_cents(), 0,
                           kMaxPriceCents),
       shop::ValidateRange("initial_quantity", request.initial_quantity(), 0,
                           shop::kMaxQuantity),
       shop::ValidateExpectedVersion(request)});
}

absl::Status Validate(const v1::ReceiveStockRequest& request) {
  return shop::FirstError(
      {shop::ValidateId("product_id", request.product_id()),
       shop::ValidateQuantity("quantity", request.quantity()),
       shop::ValidateText("reference", request.reference(), 0, 256),
       shop::ValidateExpectedVersion(request)});
}

absl::Status Validate(const v1::ReserveStockRequest& request) {
  return shop::FirstError(
      {shop::ValidateId("product_id", request.product_id()),
       shop::ValidateQuantity("quantity", request.quantity()),
       shop::ValidateId("reservation_id", request.reservation_id()),
       shop::ValidateRange("ttl_seconds", request.ttl_seconds(), 0,
                           kMaxTtlSeconds),
       shop::ValidateExpectedVersion(request)});
}

absl::Status Validate(const v1::ReleaseStockRequest& request) {
  return shop::FirstError(
      {shop::ValidateId("product_id", request.product_id()),
       shop::ValidateId("reservation_id", request.reservation_id()),
       shop::ValidateExpectedVersion(request)});
}

absl::Status Validate(const v1::CommitReservationRequest& request) {
  return shop::FirstError(
      {shop::ValidateId("product_id", request.product_id()),
       shop::ValidateId("reservation_id", request.reservation_id()),
       shop::ValidateExpectedVersion(request)});
}

namespace {

// Starts a write whose answer finishes the call, once `request` is valid.
template <typename Request, typename Start>
grpc::ServerUnaryReactor* Write(grpc::CallbackServerContext* context,
                                const Request& request, Start start) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (absl::Status valid = Validate(request); !valid.ok()) {
    reactor->Finish(shop::ToGrpcStatus(valid));
    return reactor;
  }
  start(reactor, shop::ContextOf(*context, request));
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

}  // namespace

grpc::ServerUnaryReactor* InventoryServiceImpl::AddProduct(
    grpc::CallbackServerContext* context, const v1::AddProductRequest* request,
    v1::AddProductResponse* response) {
  return Write(context, *request, [&](auto* reactor, CallContext call) {
    inventory_->AddProduct(
        request->product_id(),
        {request->name(), request->price_cents(), request->initial_quantity()},
        std::move(call),
        Answer(reactor, [request, response](const Outcome& outcome) {
          response->set_product_id(request->product_id());
          response->set_version(outcome.version);
          return grpc::Status::OK;
        }));
  });
}

grpc::ServerUnaryReactor* InventoryServiceImpl::ReceiveStock(
    grpc::CallbackServerContext* context,
    const v1::ReceiveStockRequest* request,
    v1::ReceiveStockResponse* response) {
  return Write(context, *request, [&](auto* reactor, CallContext call) {
    inventory_->ReceiveStock(
        request->product_id(), {request->quantity(), request->reference()},
        std::move(call), Answer(reactor, [response](const Outcome& outcome) {
          response->set_on_hand(outcome.on_hand);
          response->set_available(outcome.available);
          response->set_version(outcome.version);
          return grpc::Status::OK;
        }));
  });
}

grpc::ServerUnaryReactor* InventoryServiceImpl::ReserveStock(
    grpc::CallbackServerContext* context,
    const v1::ReserveStockRequest* request,
    v1::ReserveStockResponse* response) {
  return Write(context, *request, [&](auto* reactor, CallContext call) {
    inventory_->ReserveStock(
        request->product_id(),
        {request->quantity(), request->reservation_id(),
         absl::Seconds(request->ttl_seconds())},
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
          response->set_version(outcome.version);
          response->set_quantity(outcome.reservation->quantity);
          return grpc::Status::OK;
        }));
  });
}

grpc::ServerUnaryReactor* InventoryServiceImpl::ReleaseStock(
    grpc::CallbackServerContext* context,
    const v1::ReleaseStockRequest* request,
    v1::ReleaseStockResponse* response) {
  return Write(context, *request, [&](auto* reactor, CallContext call) {
    inventory_->ReleaseStock(
        request->product_id(), request->reservation_id(), std::move(call),
        Answer(reactor, [response](const Outcome& outcome) {
          for (const Event& event : outcome.events) {
            if (const auto* released = std::get_if<v1::StockReleased>(&event)) {
              response->set_released_quantity(released->quantity());
            }
          }
          response->set_available(outcome.available);
          response->set_version(outcome.version);
          return grpc::Status::OK;
        }));
  });
}

grpc::ServerUnaryReactor* InventoryServiceImpl::CommitReservation(
    grpc::CallbackServerContext* context,
    const v1::CommitReservationRequest* request,
    v1::CommitReservationResponse* response) {
  return Write(context, *request, [&](auto* reactor, CallContext call) {
    inventory_->CommitReservation(
        request->product_id(), request->reservation_id(), std::move(call),
        Answer(reactor, [response](const Outcome& outcome) {
          for (const Event& event : outcome.events) {
            if (const auto* committed =
                    std::get_if<v1::StockCommitted>(&event)) {
              response->set_committed_quantity(committed->quantity());
            }
          }
          response->set_on_hand(outcome.on_hand);
          response->set_version(outcome.version);
          return grpc::Status::OK;
        }));
  });
}

}  // namespace inventory
