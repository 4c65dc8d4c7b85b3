#pragma once

#include <utility>

#include "common/eventstore/feed.h"
#include "common/rpc/call_metadata.h"
#include "inventory/v1/inventory.grpc.pb.h"
#include "services/inventory/app/inventory.h"
#include "services/inventory/app/stock_history.h"
#include "services/inventory/app/stock_reports.h"

namespace inventory {

// The generated service with the product writes on the callback API.
using CallbackWrites = v1::InventoryService::WithCallbackMethod_AddProduct<
    v1::InventoryService::WithCallbackMethod_ReceiveStock<
        v1::InventoryService::WithCallbackMethod_ReserveStock<
            v1::InventoryService::WithCallbackMethod_ReleaseStock<
                v1::InventoryService::WithCallbackMethod_CommitReservation<
                    v1::InventoryService::WithCallbackMethod_ShipStock<
                        v1::InventoryService::WithCallbackMethod_CancelCommitment<
                            v1::InventoryService::WithCallbackMethod_ReturnStock<
                                v1::InventoryService::WithCallbackMethod_TransferStock<
                                    v1::InventoryService::
                                        WithCallbackMethod_ReceiveTransfer<
                                            v1::InventoryService::
                                                WithCallbackMethod_AdjustStock<
                                                    v1::InventoryService::
                                                        WithCallbackMethod_Subscribe<
                                                            v1::InventoryService::
                                                                Service>>>>>>>>>>>>;

// gRPC handlers: validate every field, call the use case, map the result.
// The product writes answer from the use case's callback, holding no thread
// while they wait for their append; the reads and the warehouse calls are
// plain blocking handlers.
class InventoryServiceImpl final : public CallbackWrites {
 public:
  InventoryServiceImpl(Inventory* inventory, StockHistory* history,
                       StockReports* reports, eventstore::Feed* feed,
                       shop::IdentityPolicy identity = {})
      : inventory_(inventory),
        history_(history),
        reports_(reports),
        feed_(feed),
        identity_(std::move(identity)) {}

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
  grpc::ServerUnaryReactor* ShipStock(grpc::CallbackServerContext* context,
                                      const v1::ShipStockRequest* request,
                                      v1::ShipStockResponse* response) override;
  grpc::ServerUnaryReactor* CancelCommitment(
      grpc::CallbackServerContext* context,
      const v1::CancelCommitmentRequest* request,
      v1::CancelCommitmentResponse* response) override;
  grpc::ServerUnaryReactor* ReturnStock(
      grpc::CallbackServerContext* context,
      const v1::ReturnStockRequest* request,
      v1::ReturnStockResponse* response) override;
  grpc::ServerUnaryReactor* TransferStock(
      grpc::CallbackServerContext* context,
      const v1::TransferStockRequest* request,
      v1::TransferStockResponse* response) override;
  grpc::ServerUnaryReactor* ReceiveTransfer(
      grpc::CallbackServerContext* context,
      const v1::ReceiveTransferRequest* request,
      v1::ReceiveTransferResponse* response) override;
  grpc::ServerUnaryReactor* AdjustStock(
      grpc::CallbackServerContext* context,
      const v1::AdjustStockRequest* request,
      v1::AdjustStockResponse* response) override;

  grpc::Status AddWarehouse(grpc::ServerContext* context,
                            const v1::AddWarehouseRequest* request,
                            v1::AddWarehouseResponse* response) override;
  grpc::Status ListWarehouses(grpc::ServerContext* context,
                              const v1::ListWarehousesRequest* request,
                              v1::ListWarehousesResponse* response) override;
  grpc::Status GetStock(grpc::ServerContext* context,
                        const v1::GetStockRequest* request,
                        v1::GetStockResponse* response) override;
  grpc::Status ListProductEvents(
      grpc::ServerContext* context, const v1::ListProductEventsRequest* request,
      v1::ListProductEventsResponse* response) override;
  grpc::Status GetStockAsOf(grpc::ServerContext* context,
                            const v1::GetStockAsOfRequest* request,
                            v1::GetStockAsOfResponse* response) override;
  grpc::Status ListEventsByCorrelation(
      grpc::ServerContext* context,
      const v1::ListEventsByCorrelationRequest* request,
      v1::ListEventsByCorrelationResponse* response) override;
  grpc::ServerWriteReactor<v1::SubscribeResponse>* Subscribe(
      grpc::CallbackServerContext* context,
      const v1::SubscribeRequest* request) override;
  grpc::Status ListStock(grpc::ServerContext* context,
                         const v1::ListStockRequest* request,
                         v1::ListStockResponse* response) override;

 private:
  Inventory* inventory_;
  StockHistory* history_;
  StockReports* reports_;
  eventstore::Feed* feed_;
  const shop::IdentityPolicy identity_;
};

// Field checks, exposed for unit tests. Each names the offending field.
absl::Status Validate(const v1::AddProductRequest& request);
absl::Status Validate(const v1::ReceiveStockRequest& request);
absl::Status Validate(const v1::ReserveStockRequest& request);
absl::Status Validate(const v1::ReleaseStockRequest& request);
absl::Status Validate(const v1::CommitReservationRequest& request);
absl::Status Validate(const v1::ShipStockRequest& request);
absl::Status Validate(const v1::CancelCommitmentRequest& request);
absl::Status Validate(const v1::ReturnStockRequest& request);
absl::Status Validate(const v1::TransferStockRequest& request);
absl::Status Validate(const v1::ReceiveTransferRequest& request);
absl::Status Validate(const v1::AdjustStockRequest& request);
absl::Status Validate(const v1::AddWarehouseRequest& request);
absl::Status Validate(const v1::ListWarehousesRequest& request);
absl::Status Validate(const v1::GetStockRequest& request);
absl::Status Validate(const v1::ListProductEventsRequest& request);
// `now` bounds how far in the future as_of may be.
absl::Status Validate(const v1::GetStockAsOfRequest& request, absl::Time now);
absl::Status Validate(const v1::ListEventsByCorrelationRequest& request);
absl::Status Validate(const v1::ListStockRequest& request);

}  // namespace inventory
