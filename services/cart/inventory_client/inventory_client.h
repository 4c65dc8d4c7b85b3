#pragma once

#include <memory>
#include <string>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/eventstore/event_store.h"
#include "grpcpp/grpcpp.h"
#include "inventory/v1/inventory.grpc.pb.h"

namespace cart {

// The cart's view of inventory.v1.InventoryService. Every call has a
// deadline; errors come back with inventory's code and reason intact.
class InventoryClient final {
 public:
  using ReserveDone = absl::AnyInvocable<
      void(absl::StatusOr<inventory::v1::ReserveStockResponse>) &&>;

  InventoryClient(std::shared_ptr<grpc::Channel> channel,
                  absl::Duration deadline);

  // Reserve without waiting: `done` runs on a gRPC thread, and must not
  // block.
  void Reserve(const std::string& product_id, int64_t quantity,
               const std::string& reservation_id, int64_t ttl_seconds,
               const eventstore::Metadata& metadata, ReserveDone done);
  absl::Status Release(const std::string& product_id,
                       const std::string& reservation_id,
                       const eventstore::Metadata& metadata);
  absl::Status Commit(const std::string& product_id,
                      const std::string& reservation_id,
                      const eventstore::Metadata& metadata);

 private:
  void Prepare(const eventstore::Metadata& metadata,
               grpc::ClientContext* context) const;

  std::unique_ptr<inventory::v1::InventoryService::Stub> stub_;
  absl::Duration deadline_;
};

}  // namespace cart
