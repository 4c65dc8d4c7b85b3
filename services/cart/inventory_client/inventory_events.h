#pragma once

#include <functional>
#include <memory>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "inventory/v1/inventory.grpc.pb.h"

namespace cart {

// Inventory's events as the cart's console shows them beside the cart's:
// one correlation id's, and the live feed. Reads only, over the channel the
// cart's InventoryClient uses.
class InventoryEvents final {
 public:
  InventoryEvents(std::shared_ptr<grpc::Channel> channel,
                  absl::Duration deadline);

  absl::StatusOr<inventory::v1::ListEventsByCorrelationResponse>
  ListByCorrelation(
      const inventory::v1::ListEventsByCorrelationRequest& request);

  // Follows inventory's Subscribe, handing each message to `on_message`
  // until it returns false (the call is then cancelled) or the stream ends
  // (its status). Inventory's idle checkpoints call it at least every 5 s.
  absl::Status Follow(
      const inventory::v1::SubscribeRequest& request,
      const std::function<bool(const inventory::v1::SubscribeResponse&)>&
          on_message);

 private:
  std::unique_ptr<inventory::v1::InventoryService::Stub> stub_;
  absl::Duration deadline_;
};

}  // namespace cart
