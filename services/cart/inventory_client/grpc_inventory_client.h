#pragma once

#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "inventory/v1/inventory.grpc.pb.h"
#include "services/cart/inventory_client/inventory_client.h"

namespace cart {

// InventoryClient over gRPC. Each call ends at the caller's deadline or
// after `deadline`, whichever comes first.
class GrpcInventoryClient final : public InventoryClient {
 public:
  GrpcInventoryClient(std::shared_ptr<grpc::Channel> channel,
                      absl::Duration deadline);
  // Waits until gRPC has let go of every call it started: their contexts
  // must not outlive the channel.
  ~GrpcInventoryClient() override;

  void Reserve(const std::string& product_id, int64_t quantity,
               const std::string& reservation_id, int64_t ttl_seconds,
               const std::string& warehouse_id, const InventoryCall& call,
               ReserveDone done) override;
  absl::Status Release(const std::string& product_id,
                       const std::string& reservation_id, int64_t quantity,
                       const std::string& release_id,
                       const InventoryCall& call) override;
  void Commit(const std::string& product_id, const std::string& reservation_id,
              const std::string& order_id, const InventoryCall& call,
              CommitDone done) override;
  absl::Status Ship(const std::string& product_id, const std::string& order_id,
                    const std::string& shipment_id, int64_t quantity,
                    const InventoryCall& call) override;
  absl::Status CancelCommitment(const std::string& product_id,
                                const std::string& order_id,
                                const std::string& reason,
                                const InventoryCall& call) override;
  absl::Status Return(const std::string& product_id,
                      const std::string& order_id, const std::string& return_id,
                      const v1::ReturnedLine& line,
                      const InventoryCall& call) override;

 private:
  // Sets the call's deadline and identity; true when the caller's deadline
  // is the one that bounds it.
  bool Prepare(const InventoryCall& call, grpc::ClientContext* context) const;
  // A call that waits for its answer, of which only the status matters.
  template <typename Request, typename Response>
  absl::Status Blocking(
      grpc::Status (inventory::v1::InventoryService::Stub::*method)(
          grpc::ClientContext*, const Request&, Response*),
      const Request& request, const InventoryCall& call);

  // Held by each asynchronous call's state, declared first there so that it
  // is released after the call's context.
  class InFlight final {
   public:
    explicit InFlight(GrpcInventoryClient* client);
    ~InFlight();

   private:
    GrpcInventoryClient* client_;
  };

  std::unique_ptr<inventory::v1::InventoryService::Stub> stub_;
  absl::Duration deadline_;
  absl::Mutex mu_;
  int in_flight_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace cart
