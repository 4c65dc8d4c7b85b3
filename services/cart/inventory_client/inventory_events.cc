#include "services/cart/inventory_client/inventory_events.h"

#include <utility>

#include "common/rpc/status_mapping.h"

namespace cart {

InventoryEvents::InventoryEvents(std::shared_ptr<grpc::Channel> channel,
                                 absl::Duration deadline)
    : stub_(inventory::v1::InventoryService::NewStub(std::move(channel))),
      deadline_(deadline) {}

absl::StatusOr<inventory::v1::ListEventsByCorrelationResponse>
InventoryEvents::ListByCorrelation(
    const inventory::v1::ListEventsByCorrelationRequest& request) {
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + deadline_));
  inventory::v1::ListEventsByCorrelationResponse response;
  const grpc::Status status =
      stub_->ListEventsByCorrelation(&context, request, &response);
  if (!status.ok()) return shop::FromGrpcStatus(status);
  return response;
}

absl::Status InventoryEvents::Follow(
    const inventory::v1::SubscribeRequest& request,
    const std::function<bool(const inventory::v1::SubscribeResponse&)>&
        on_message) {
  grpc::ClientContext context;
  std::unique_ptr<grpc::ClientReader<inventory::v1::SubscribeResponse>> reader =
      stub_->Subscribe(&context, request);
  inventory::v1::SubscribeResponse message;
  while (reader->Read(&message)) {
    if (!on_message(message)) {
      context.TryCancel();
      break;
    }
  }
  const grpc::Status status = reader->Finish();
  if (status.error_code() == grpc::StatusCode::CANCELLED) {
    return absl::OkStatus();
  }
  return shop::FromGrpcStatus(status);
}

}  // namespace cart
