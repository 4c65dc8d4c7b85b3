#pragma once

#include <deque>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "services/cart/inventory_client/inventory_client.h"

namespace shop::testing {

// An inventory in memory for the cart's tests: answers at once with the
// scripted outcome, and records every call it got.
class FakeInventory final : public cart::InventoryClient {
 public:
  struct Call {
    std::string method;  // "Reserve", "Release", "Commit", "Ship", ...
    std::string product_id;
    std::string reservation_id;
    cart::InventoryCall call;
    int64_t quantity = 0;  // reserved or released; 0 releases all
    std::string release_id;
  };

  // The next Reserve answers `status` (once); otherwise it succeeds.
  void FailNextReserve(absl::Status status) {
    absl::MutexLock lock(&mu_);
    reserve_failures_.push_back(std::move(status));
  }
  // Commits of `reservation_id` answer `status`.
  void FailCommit(const std::string& reservation_id, absl::Status status) {
    absl::MutexLock lock(&mu_);
    commit_failures_.emplace_back(reservation_id, std::move(status));
  }

  // The next Ship, CancelCommitment or Return answers `status` (once).
  void FailNextMove(absl::Status status) {
    absl::MutexLock lock(&mu_);
    move_failures_.push_back(std::move(status));
  }

  std::vector<Call> calls() const {
    absl::MutexLock lock(&mu_);
    return calls_;
  }
  int Count(const std::string& method) const {
    absl::MutexLock lock(&mu_);
    int n = 0;
    for (const Call& call : calls_) n += call.method == method ? 1 : 0;
    return n;
  }

  void Reserve(const std::string& product_id, int64_t quantity,
               const std::string& reservation_id, int64_t /*ttl_seconds*/,
               const std::string& warehouse_id, const cart::InventoryCall& call,
               ReserveDone done) override {
    (void)warehouse_id;
    std::optional<absl::Status> failure;
    {
      absl::MutexLock lock(&mu_);
      calls_.push_back({"Reserve", product_id, reservation_id, call, quantity});
      if (!reserve_failures_.empty()) {
        failure = std::move(reserve_failures_.front());
        reserve_failures_.pop_front();
      }
    }
    if (failure.has_value()) return std::move(done)(*failure);
    inventory::v1::ReserveStockResponse response;
    response.set_reservation_id(reservation_id);
    response.set_unit_price_cents(100);
    std::move(done)(std::move(response));
  }
  absl::Status Release(const std::string& product_id,
                       const std::string& reservation_id, int64_t quantity,
                       const std::string& release_id,
                       const cart::InventoryCall& call) override {
    absl::MutexLock lock(&mu_);
    calls_.push_back(
        {"Release", product_id, reservation_id, call, quantity, release_id});
    return absl::OkStatus();
  }
  void Commit(const std::string& product_id, const std::string& reservation_id,
              const std::string& order_id, const cart::InventoryCall& call,
              CommitDone done) override {
    (void)order_id;
    absl::Status result = absl::OkStatus();
    {
      absl::MutexLock lock(&mu_);
      calls_.push_back({"Commit", product_id, reservation_id, call});
      for (const auto& [id, status] : commit_failures_) {
        if (id == reservation_id) result = status;
      }
    }
    std::move(done)(std::move(result));
  }
  absl::Status Ship(const std::string& product_id, const std::string& order_id,
                    const std::string& shipment_id, int64_t quantity,
                    const cart::InventoryCall& call) override {
    absl::MutexLock lock(&mu_);
    calls_.push_back(
        {"Ship", product_id, order_id, call, quantity, shipment_id});
    return NextMove();
  }
  absl::Status CancelCommitment(const std::string& product_id,
                                const std::string& order_id,
                                const std::string& reason,
                                const cart::InventoryCall& call) override {
    absl::MutexLock lock(&mu_);
    calls_.push_back(
        {"CancelCommitment", product_id, order_id, call, 0, reason});
    return NextMove();
  }
  absl::Status Return(const std::string& product_id,
                      const std::string& order_id, const std::string& return_id,
                      const cart::v1::ReturnedLine& line,
                      const cart::InventoryCall& call) override {
    absl::MutexLock lock(&mu_);
    calls_.push_back(
        {"Return", product_id, order_id, call, line.quantity(), return_id});
    return NextMove();
  }

 private:
  absl::Status NextMove() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (move_failures_.empty()) return absl::OkStatus();
    absl::Status failure = std::move(move_failures_.front());
    move_failures_.pop_front();
    return failure;
  }

  mutable absl::Mutex mu_;
  std::vector<Call> calls_ ABSL_GUARDED_BY(mu_);
  std::deque<absl::Status> move_failures_ ABSL_GUARDED_BY(mu_);
  std::deque<absl::Status> reserve_failures_ ABSL_GUARDED_BY(mu_);
  std::vector<std::pair<std::string, absl::Status>> commit_failures_
      ABSL_GUARDED_BY(mu_);
};

}  // namespace shop::testing
