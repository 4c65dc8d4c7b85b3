#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/errors/errors.h"
#include "common/rpc/status_mapping.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "inventory/v1/inventory.grpc.pb.h"
#include "tests/support/inventory_harness.h"
#include "tests/support/status_matchers.h"

namespace grpc {
// Prints a gRPC status as its code, message and details in test failures.
inline void PrintTo(const Status& status, std::ostream* os) {
  *os << shop::FromGrpcStatus(status);
}
}  // namespace grpc

// Requests of the stock movements, and a fixture that sends them through a
// real inventory server's gRPC stub and reads the figures back.
namespace shop::testing {

namespace movements {

namespace v1 = ::inventory::v1;

inline v1::ReceiveStockRequest ReceiveOf(const std::string& product,
                                         const std::string& warehouse,
                                         int64_t quantity,
                                         const std::string& receipt_id = "") {
  v1::ReceiveStockRequest request;
  request.set_product_id(product);
  request.set_warehouse_id(warehouse);
  request.set_quantity(quantity);
  request.set_receipt_id(receipt_id);
  return request;
}

inline v1::ReserveStockRequest ReserveOf(const std::string& product,
                                         const std::string& reservation_id,
                                         int64_t quantity,
                                         const std::string& warehouse = "") {
  v1::ReserveStockRequest request;
  request.set_product_id(product);
  request.set_reservation_id(reservation_id);
  request.set_quantity(quantity);
  request.set_warehouse_id(warehouse);
  return request;
}

inline v1::ReleaseStockRequest ReleaseOf(
    const std::string& product, const std::string& reservation_id,
    std::optional<int64_t> quantity = std::nullopt,
    const std::string& release_id = "") {
  v1::ReleaseStockRequest request;
  request.set_product_id(product);
  request.set_reservation_id(reservation_id);
  if (quantity.has_value()) request.set_quantity(*quantity);
  request.set_release_id(release_id);
  return request;
}

inline v1::CommitReservationRequest CommitOf(const std::string& product,
                                             const std::string& reservation_id,
                                             const std::string& order_id) {
  v1::CommitReservationRequest request;
  request.set_product_id(product);
  request.set_reservation_id(reservation_id);
  request.set_order_id(order_id);
  return request;
}

inline v1::ShipStockRequest ShipOf(const std::string& product,
                                   const std::string& order_id,
                                   const std::string& shipment_id,
                                   int64_t quantity) {
  v1::ShipStockRequest request;
  request.set_product_id(product);
  request.set_order_id(order_id);
  request.set_shipment_id(shipment_id);
  request.set_quantity(quantity);
  return request;
}

inline v1::CancelCommitmentRequest CancelOf(const std::string& product,
                                            const std::string& order_id) {
  v1::CancelCommitmentRequest request;
  request.set_product_id(product);
  request.set_order_id(order_id);
  request.set_reason("customer cancelled");
  return request;
}

inline v1::ReturnStockRequest ReturnOf(
    const std::string& product, const std::string& order_id,
    const std::string& return_id, const std::string& warehouse,
    int64_t quantity, v1::ReturnCondition condition,
    v1::ReturnReason reason = v1::RETURN_REASON_DEFECTIVE) {
  v1::ReturnStockRequest request;
  request.set_product_id(product);
  request.set_order_id(order_id);
  request.set_return_id(return_id);
  request.set_warehouse_id(warehouse);
  request.set_quantity(quantity);
  request.set_reason(reason);
  request.set_condition(condition);
  return request;
}

inline v1::TransferStockRequest TransferOf(const std::string& product,
                                           const std::string& transfer_id,
                                           const std::string& from,
                                           const std::string& to,
                                           int64_t quantity) {
  v1::TransferStockRequest request;
  request.set_product_id(product);
  request.set_transfer_id(transfer_id);
  request.set_from_warehouse_id(from);
  request.set_to_warehouse_id(to);
  request.set_quantity(quantity);
  return request;
}

inline v1::ReceiveTransferRequest ArrivalOf(const std::string& product,
                                            const std::string& transfer_id,
                                            int64_t quantity_received) {
  v1::ReceiveTransferRequest request;
  request.set_product_id(product);
  request.set_transfer_id(transfer_id);
  request.set_quantity_received(quantity_received);
  return request;
}

inline v1::AdjustStockRequest CountOf(
    const std::string& product, const std::string& adjustment_id,
    const std::string& warehouse, int64_t counted,
    v1::AdjustmentReason reason = v1::ADJUSTMENT_REASON_PHYSICAL_COUNT) {
  v1::AdjustStockRequest request;
  request.set_product_id(product);
  request.set_adjustment_id(adjustment_id);
  request.set_warehouse_id(warehouse);
  request.set_counted_quantity(counted);
  request.set_reason(reason);
  return request;
}

inline v1::AdjustStockRequest DeltaOf(
    const std::string& product, const std::string& adjustment_id,
    const std::string& warehouse, int64_t delta,
    v1::AdjustmentReason reason = v1::ADJUSTMENT_REASON_SYSTEM_CORRECTION) {
  v1::AdjustStockRequest request = CountOf(product, adjustment_id, warehouse,
                                           /*counted=*/0, reason);
  request.set_delta(delta);
  return request;
}

// One warehouse's figures as a test expects them.
struct Figures {
  int64_t on_hand = 0;
  int64_t reserved = 0;
  int64_t committed = 0;
  int64_t available = 0;
  int64_t incoming = 0;
  int64_t damaged = 0;
  int64_t shortfall = 0;
};

inline std::string Describe(const Figures& f) {
  return absl::StrCat("on_hand ", f.on_hand, " reserved ", f.reserved,
                      " committed ", f.committed, " available ", f.available,
                      " incoming ", f.incoming, " damaged ", f.damaged,
                      " shortfall ", f.shortfall);
}

inline Figures FiguresOf(const v1::WarehouseStock& w) {
  return {w.on_hand(),  w.reserved(), w.committed(), w.available(),
          w.incoming(), w.damaged(),  w.shortfall()};
}

// Every warehouse of a GetStock (or GetStockAsOf) answer, then its totals,
// one line each.
template <typename Response>
std::string DescribeStock(const Response& stock) {
  std::string out;
  for (const v1::WarehouseStock& w : stock.warehouses()) {
    absl::StrAppend(&out, w.warehouse_id(), ": ", Describe(FiguresOf(w)), "\n");
  }
  absl::StrAppend(
      &out, "total: ",
      Describe({stock.on_hand(), stock.reserved(), stock.committed(),
                stock.available(), stock.incoming(), stock.damaged(),
                stock.shortfall()}));
  return out;
}

// What DescribeStock should say: `warehouses` by id, and their sums.
inline std::string ExpectedStock(
    const std::map<std::string, Figures>& warehouses) {
  std::string out;
  Figures total;
  for (const auto& [id, f] : warehouses) {
    absl::StrAppend(&out, id, ": ", Describe(f), "\n");
    total.on_hand += f.on_hand;
    total.reserved += f.reserved;
    total.committed += f.committed;
    total.available += f.available;
    total.incoming += f.incoming;
    total.damaged += f.damaged;
    total.shortfall += f.shortfall;
  }
  absl::StrAppend(&out, "total: ", Describe(total));
  return out;
}

// The value of `key` in a gRPC error's ErrorInfo metadata, or "".
inline std::string ErrorFact(const grpc::Status& status,
                             const std::string& key) {
  std::optional<google::rpc::ErrorInfo> info =
      shop::ErrorInfoOf(shop::FromGrpcStatus(status));
  if (!info.has_value()) return "";
  auto it = info->metadata().find(key);
  return it == info->metadata().end() ? "" : it->second;
}

}  // namespace movements

// A real inventory server on its own schema, and one call per RPC.
class MovementTest : public ::testing::Test {
 protected:
  using Stub = ::inventory::v1::InventoryService::Stub;
  template <typename Request, typename Response>
  using Method = grpc::Status (Stub::*)(grpc::ClientContext*, const Request&,
                                        Response*);

  // Calls `method` on `server` (another replica, say).
  template <typename Request, typename Response>
  static grpc::Status Call(InventoryHarness& server,
                           Method<Request, Response> method,
                           const Request& request, Response* response) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(30));
    return (server.stub().*method)(&context, request, response);
  }
  template <typename Request, typename Response>
  grpc::Status Call(Method<Request, Response> method, const Request& request,
                    Response* response) {
    return Call(harness_, method, request, response);
  }
  template <typename Request, typename Response>
  grpc::Status CallOrIgnore(Method<Request, Response> method,
                            const Request& request, Response* response) {
    Response ignored;
    return Call(method, request, response == nullptr ? &ignored : response);
  }

  // One call per RPC, filling `response` when given.
  grpc::Status AddProduct(
      const ::inventory::v1::AddProductRequest& request,
      ::inventory::v1::AddProductResponse* response = nullptr) {
    return CallOrIgnore(&Stub::AddProduct, request, response);
  }
  grpc::Status AddWarehouse(
      const ::inventory::v1::AddWarehouseRequest& request,
      ::inventory::v1::AddWarehouseResponse* response = nullptr) {
    return CallOrIgnore(&Stub::AddWarehouse, request, response);
  }
  grpc::Status ListWarehouses(
      const ::inventory::v1::ListWarehousesRequest& request,
      ::inventory::v1::ListWarehousesResponse* response = nullptr) {
    return CallOrIgnore(&Stub::ListWarehouses, request, response);
  }
  grpc::Status ReceiveStock(
      const ::inventory::v1::ReceiveStockRequest& request,
      ::inventory::v1::ReceiveStockResponse* response = nullptr) {
    return CallOrIgnore(&Stub::ReceiveStock, request, response);
  }
  grpc::Status ReserveStock(
      const ::inventory::v1::ReserveStockRequest& request,
      ::inventory::v1::ReserveStockResponse* response = nullptr) {
    return CallOrIgnore(&Stub::ReserveStock, request, response);
  }
  grpc::Status ReleaseStock(
      const ::inventory::v1::ReleaseStockRequest& request,
      ::inventory::v1::ReleaseStockResponse* response = nullptr) {
    return CallOrIgnore(&Stub::ReleaseStock, request, response);
  }
  grpc::Status CommitReservation(
      const ::inventory::v1::CommitReservationRequest& request,
      ::inventory::v1::CommitReservationResponse* response = nullptr) {
    return CallOrIgnore(&Stub::CommitReservation, request, response);
  }
  grpc::Status ShipStock(
      const ::inventory::v1::ShipStockRequest& request,
      ::inventory::v1::ShipStockResponse* response = nullptr) {
    return CallOrIgnore(&Stub::ShipStock, request, response);
  }
  grpc::Status CancelCommitment(
      const ::inventory::v1::CancelCommitmentRequest& request,
      ::inventory::v1::CancelCommitmentResponse* response = nullptr) {
    return CallOrIgnore(&Stub::CancelCommitment, request, response);
  }
  grpc::Status ReturnStock(
      const ::inventory::v1::ReturnStockRequest& request,
      ::inventory::v1::ReturnStockResponse* response = nullptr) {
    return CallOrIgnore(&Stub::ReturnStock, request, response);
  }
  grpc::Status TransferStock(
      const ::inventory::v1::TransferStockRequest& request,
      ::inventory::v1::TransferStockResponse* response = nullptr) {
    return CallOrIgnore(&Stub::TransferStock, request, response);
  }
  grpc::Status ReceiveTransfer(
      const ::inventory::v1::ReceiveTransferRequest& request,
      ::inventory::v1::ReceiveTransferResponse* response = nullptr) {
    return CallOrIgnore(&Stub::ReceiveTransfer, request, response);
  }
  grpc::Status AdjustStock(
      const ::inventory::v1::AdjustStockRequest& request,
      ::inventory::v1::AdjustStockResponse* response = nullptr) {
    return CallOrIgnore(&Stub::AdjustStock, request, response);
  }
  grpc::Status GetStockAsOf(
      const ::inventory::v1::GetStockAsOfRequest& request,
      ::inventory::v1::GetStockAsOfResponse* response = nullptr) {
    return CallOrIgnore(&Stub::GetStockAsOf, request, response);
  }
  grpc::Status ListProductEvents(
      const ::inventory::v1::ListProductEventsRequest& request,
      ::inventory::v1::ListProductEventsResponse* response = nullptr) {
    return CallOrIgnore(&Stub::ListProductEvents, request, response);
  }

  // Adds product `id` with `initial` units in main.
  void NewProduct(const std::string& id, int64_t initial = 0) {
    ::inventory::v1::AddProductRequest request;
    request.set_product_id(id);
    request.set_name("Sneakers");
    request.set_price_cents(4999);
    request.set_initial_quantity(initial);
    ASSERT_THAT(AddProduct(request), IsOk());
  }

  void NewWarehouse(const std::string& id) {
    ::inventory::v1::AddWarehouseRequest request;
    request.set_warehouse_id(id);
    request.set_name(absl::StrCat("Warehouse ", id));
    ASSERT_THAT(AddWarehouse(request), IsOk());
  }

  ::inventory::v1::GetStockResponse Stock(const std::string& product) {
    ::inventory::v1::GetStockRequest request;
    request.set_product_id(product);
    ::inventory::v1::GetStockResponse response;
    EXPECT_THAT(Call(&Stub::GetStock, request, &response), IsOk());
    return response;
  }

  // The product's whole history, oldest first.
  std::vector<::inventory::v1::RecordedEvent> Events(
      const std::string& product) {
    ::inventory::v1::ListProductEventsRequest request;
    request.set_product_id(product);
    request.set_max_count(1000);
    ::inventory::v1::ListProductEventsResponse response;
    EXPECT_THAT(ListProductEvents(request, &response), IsOk());
    return {response.events().begin(), response.events().end()};
  }

  // GetStock's figures, per warehouse and in total, as DescribeStock says.
  std::string StockOf(const std::string& product) {
    return movements::DescribeStock(Stock(product));
  }

  TestSchema schema_{"movements"};
  InventoryHarness harness_{schema_.name()};
};

}  // namespace shop::testing
