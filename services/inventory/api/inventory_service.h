#pragma once

#include "inventory/v1/inventory.grpc.pb.h"
#include "services/inventory/app/inventory.h"

namespace inventory {

// gRPC handlers: validate every field, call the use case, map the result.
// The writes answer from the use case's callback, holding no thread while
// they wait for their append; the reads are plain blocking handlers.
class InventoryServiceImpl final
    : public v1::InventoryService::WithCallbackMethod_AddProduct<
          v1::InventoryService::WithCallbackMethod_ReceiveStock<
              v1::InventoryService::WithCallbackMethod_ReserveStock<
                  v1::InventoryService::WithCallbackMethod_ReleaseStock<
                      v1::InventoryService::
                          WithCallbackMethod_CommitReservation<
                              v1::InventoryService::Service>>>>> {
 public:
  explicit InventoryServiceImpl(Inventory* inventory) : inventory_(inventory) {}

  grpc::ServerUnaryReactor* AddProduct(
      grpc::CallbackServerContext* context,
      const v1::AddProductRequest* request,
      v1::AddProductResponse* response) override;
  grpc::ServerUnaryReactor* ReceiveStock(
      grpc::CallbackServerContext* context,
      const v1::ReceiveStockRequest* request,
      v1::ReceiveStockResponse* response) override;
  grpc::ServerUnaryReactor* ReserveStock(
      grpc::CallbackServerContext* context,
      const v1::ReserveStockRequest* request,
      v1::ReserveStockResponse* response) override;
  grpc::ServerUnaryReactor* ReleaseStock(
      grpc::CallbackServerContext* context,
      const v1::ReleaseStockRequest* request,
      v1::ReleaseStockResponse* response) override;
  grpc::ServerUnaryReactor* CommitReservation(
      grpc::CallbackServerContext* context,
      const v1::CommitReservationRequest* request,
      v1::CommitReservationResponse* response) override;
  grpc::Status GetStock(grpc::ServerContext* context,
                        const v1::GetStockRequest* request,
                        v1::GetStockResponse* response) override;
  grpc::Status ListProductEvents(
      grpc::ServerContext* context, const v1::ListProductEventsRequest* request,
      v1::ListProductEventsResponse* response) override;

 private:
  Inventory* inventory_;
};

// Field checks, exposed for unit tests. Each names the offending field.
absl::Status Validate(const v1::AddProductRequest& request);
absl::Status Validate(const v1::ReceiveStockRequest& request);
absl::Status Validate(const v1::ReserveStockRequest& request);
absl::Status Validate(const v1::ReleaseStockRequest& request);
absl::Status Validate(const v1::CommitReservationRequest& request);
absl::Status Validate(const v1::GetStockRequest& request);
absl::Status Validate(const v1::ListProductEventsRequest& request);

}  // namespace inventory
