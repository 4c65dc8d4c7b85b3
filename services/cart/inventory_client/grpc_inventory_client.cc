// Owns the gRPC calls to inventory: their deadlines, identity and errors.
#include "services/cart/inventory_client/grpc_inventory_client.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/rpc/call_metadata.h"
#include "common/rpc/status_mapping.h"

namespace cart {
namespace {

// Keeps inventory's code and reason; says where the error came from. Our
// own bound passing means inventory is unreachable in time (UNAVAILABLE);
// only the caller's deadline passing is DEADLINE_EXCEEDED.
absl::Status FromInventory(const grpc::Status& status, bool callers_deadline) {
  absl::Status result = shop::FromGrpcStatus(status);
  const bool timed_out =
      status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED;
  if (status.error_code() == grpc::StatusCode::UNAVAILABLE || timed_out) {
    absl::Status wrapped(timed_out && callers_deadline
                             ? absl::StatusCode::kDeadlineExceeded
                             : absl::StatusCode::kUnavailable,
                         absl::StrCat("inventory: ", result.message()));
    result.ForEachPayload(
        [&](absl::string_view url, const absl::Cord& payload) {
          wrapped.SetPayload(url, payload);
        });
    return wrapped;
  }
  return result;
}

}  // namespace

GrpcInventoryClient::GrpcInventoryClient(std::shared_ptr<grpc::Channel> channel,
                                         absl::Duration deadline)
    : stub_(inventory::v1::InventoryService::NewStub(std::move(channel))),
      deadline_(deadline) {}

GrpcInventoryClient::~GrpcInventoryClient() {
  absl::MutexLock lock(&mu_);
  mu_.Await(absl::Condition(
      +[](int* in_flight) { return *in_flight == 0; }, &in_flight_));
}

GrpcInventoryClient::InFlight::InFlight(GrpcInventoryClient* client)
    : client_(client) {
  absl::MutexLock lock(&client_->mu_);
  ++client_->in_flight_;
}

GrpcInventoryClient::InFlight::~InFlight() {
  absl::MutexLock lock(&client_->mu_);
  --client_->in_flight_;
}

bool GrpcInventoryClient::Prepare(const InventoryCall& call,
                                  grpc::ClientContext* context) const {
  const absl::Time own = absl::Now() + deadline_;
  const bool callers = call.deadline.has_value() && *call.deadline < own;
  context->set_deadline(absl::ToChronoTime(callers ? *call.deadline : own));
  shop::PropagateCallMetadata(call.metadata, context);
  return callers;
}

template <typename Request, typename Response>
absl::Status GrpcInventoryClient::Blocking(
    grpc::Status (inventory::v1::InventoryService::Stub::*method)(
        grpc::ClientContext*, const Request&, Response*),
    const Request& request, const InventoryCall& call) {
  Response response;
  grpc::ClientContext context;
  const bool callers = Prepare(call, &context);
  return FromInventory((stub_.get()->*method)(&context, request, &response),
                       callers);
}

void GrpcInventoryClient::Reserve(const std::string& product_id,
                                  int64_t quantity,
                                  const std::string& reservation_id,
                                  int64_t ttl_seconds,
                                  const std::string& warehouse_id,
                                  const InventoryCall& call, ReserveDone done) {
  // What the call needs until its callback, which gRPC may copy.
  struct Call {
    explicit Call(GrpcInventoryClient* client) : in_flight(client) {}
    InFlight in_flight;
    grpc::ClientContext context;
    inventory::v1::ReserveStockRequest request;
    inventory::v1::ReserveStockResponse response;
    ReserveDone done;
    bool callers_deadline = false;
  };
  auto state = std::make_shared<Call>(this);
  state->request.set_product_id(product_id);
  state->request.set_quantity(quantity);
  state->request.set_reservation_id(reservation_id);
  state->request.set_ttl_seconds(ttl_seconds);
  state->request.set_warehouse_id(warehouse_id);
  state->done = std::move(done);
  state->callers_deadline = Prepare(call, &state->context);
  Call* raw = state.get();
  stub_->async()->ReserveStock(
      &raw->context, &raw->request, &raw->response,
      [state = std::move(state)](const grpc::Status& status) {
        if (!status.ok()) {
          std::move(state->done)(
              FromInventory(status, state->callers_deadline));
        } else {
          std::move(state->done)(std::move(state->response));
        }
      });
}

absl::Status GrpcInventoryClient::Release(const std::string& product_id,
                                          const std::string& reservation_id,
                                          int64_t quantity,
                                          const std::string& release_id,
                                          const InventoryCall& call) {
  inventory::v1::ReleaseStockRequest request;
  request.set_product_id(product_id);
  request.set_reservation_id(reservation_id);
  if (quantity > 0) {
    request.set_quantity(quantity);
    request.set_release_id(release_id);
  }
  return Blocking(&inventory::v1::InventoryService::Stub::ReleaseStock, request,
                  call);
}

void GrpcInventoryClient::Commit(const std::string& product_id,
                                 const std::string& reservation_id,
                                 const std::string& order_id,
                                 const InventoryCall& call, CommitDone done) {
  struct Call {
    explicit Call(GrpcInventoryClient* client) : in_flight(client) {}
    InFlight in_flight;
    grpc::ClientContext context;
    inventory::v1::CommitReservationRequest request;
    inventory::v1::CommitReservationResponse response;
    CommitDone done;
    bool callers_deadline = false;
  };
  auto state = std::make_shared<Call>(this);
  state->request.set_product_id(product_id);
  state->request.set_reservation_id(reservation_id);
  state->request.set_order_id(order_id);
  state->done = std::move(done);
  state->callers_deadline = Prepare(call, &state->context);
  Call* raw = state.get();
  stub_->async()->CommitReservation(
      &raw->context, &raw->request, &raw->response,
      [state = std::move(state)](const grpc::Status& status) {
        std::move(state->done)(FromInventory(status, state->callers_deadline));
      });
}

absl::Status GrpcInventoryClient::Ship(const std::string& product_id,
                                       const std::string& order_id,
                                       const std::string& shipment_id,
                                       int64_t quantity,
                                       const InventoryCall& call) {
  inventory::v1::ShipStockRequest request;
  request.set_product_id(product_id);
  request.set_order_id(order_id);
  request.set_shipment_id(shipment_id);
  request.set_quantity(quantity);
  return Blocking(&inventory::v1::InventoryService::Stub::ShipStock, request,
                  call);
}

absl::Status GrpcInventoryClient::CancelCommitment(
    const std::string& product_id, const std::string& order_id,
    const std::string& reason, const InventoryCall& call) {
  inventory::v1::CancelCommitmentRequest request;
  request.set_product_id(product_id);
  request.set_order_id(order_id);
  request.set_reason(reason);
  return Blocking(&inventory::v1::InventoryService::Stub::CancelCommitment,
                  request, call);
}

absl::Status GrpcInventoryClient::Return(const std::string& product_id,
                                         const std::string& order_id,
                                         const std::string& return_id,
                                         const v1::ReturnedLine& line,
                                         const InventoryCall& call) {
  inventory::v1::ReturnStockRequest request;
  request.set_product_id(product_id);
  request.set_order_id(order_id);
  request.set_return_id(return_id);
  request.set_warehouse_id(line.warehouse_id());
  request.set_quantity(line.quantity());
  request.set_reason(line.reason());
  request.set_condition(line.condition());
  return Blocking(&inventory::v1::InventoryService::Stub::ReturnStock, request,
                  call);
}

}  // namespace cart
