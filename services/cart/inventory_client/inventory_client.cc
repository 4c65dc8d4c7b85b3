#include "services/cart/inventory_client/inventory_client.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/rpc/call_metadata.h"
#include "common/rpc/status_mapping.h"

namespace cart {
namespace {

// Keeps inventory's code and reason; says where the error came from. Our
// own deadline on the call passing means inventory is unreachable in time:
// UNAVAILABLE, as DEADLINE_EXCEEDED would blame the caller's deadline.
absl::Status FromInventory(const grpc::Status& status) {
  absl::Status result = shop::FromGrpcStatus(status);
  if (status.error_code() == grpc::StatusCode::UNAVAILABLE ||
      status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
    absl::Status wrapped(absl::StatusCode::kUnavailable,
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

InventoryClient::InventoryClient(std::shared_ptr<grpc::Channel> channel,
                                 absl::Duration deadline)
    : stub_(inventory::v1::InventoryService::NewStub(std::move(channel))),
      deadline_(deadline) {}

void InventoryClient::Prepare(const eventstore::Metadata& metadata,
                              grpc::ClientContext* context) const {
  context->set_deadline(absl::ToChronoTime(absl::Now() + deadline_));
  shop::PropagateCallMetadata(metadata, context);
}

void InventoryClient::Reserve(const std::string& product_id, int64_t quantity,
                              const std::string& reservation_id,
                              int64_t ttl_seconds,
                              const eventstore::Metadata& metadata,
                              ReserveDone done) {
  // What the call needs until it ends; freed by its callback.
  struct Call {
    grpc::ClientContext context;
    inventory::v1::ReserveStockRequest request;
    inventory::v1::ReserveStockResponse response;
    ReserveDone done;
  };
  auto* call = new Call;
  call->request.set_product_id(product_id);
  call->request.set_quantity(quantity);
  call->request.set_reservation_id(reservation_id);
  call->request.set_ttl_seconds(ttl_seconds);
  call->done = std::move(done);
  Prepare(metadata, &call->context);
  stub_->async()->ReserveStock(
      &call->context, &call->request, &call->response,
      [call](const grpc::Status& status) {
        std::unique_ptr<Call> owned(call);
        if (!status.ok()) {
          std::move(owned->done)(FromInventory(status));
        } else {
          std::move(owned->done)(std::move(owned->response));
        }
      });
}

absl::Status InventoryClient::Release(const std::string& product_id,
                                      const std::string& reservation_id,
                                      const eventstore::Metadata& metadata) {
  inventory::v1::ReleaseStockRequest request;
  request.set_product_id(product_id);
  request.set_reservation_id(reservation_id);
  inventory::v1::ReleaseStockResponse response;
  grpc::ClientContext context;
  Prepare(metadata, &context);
  return FromInventory(stub_->ReleaseStock(&context, request, &response));
}

absl::Status InventoryClient::Commit(const std::string& product_id,
                                     const std::string& reservation_id,
                                     const eventstore::Metadata& metadata) {
  inventory::v1::CommitReservationRequest request;
  request.set_product_id(product_id);
  request.set_reservation_id(reservation_id);
  inventory::v1::CommitReservationResponse response;
  grpc::ClientContext context;
  Prepare(metadata, &context);
  return FromInventory(stub_->CommitReservation(&context, request, &response));
}

}  // namespace cart
