#pragma once

#include <deque>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "services/cart/store/order_store.h"

namespace shop::testing {

// Orders in memory for the order use cases' unit tests: appends check the
// expected version like the event store and fold the events into the
// order; the next appends can be scripted to fail.
class FakeOrderStore final : public cart::OrderStore {
 public:
  // The next appends answer `status`, writing nothing.
  void FailNextAppends(int count, absl::Status status) {
    absl::MutexLock lock(&mu_);
    for (int i = 0; i < count; ++i) failures_.push_back(status);
  }
  int appends() const {
    absl::MutexLock lock(&mu_);
    return appends_;
  }

  absl::StatusOr<cart::LoadedOrder> Load(const std::string& order_id) override {
    absl::MutexLock lock(&mu_);
    auto it = orders_.find(order_id);
    if (it == orders_.end()) return cart::LoadedOrder{};
    return it->second;
  }
  absl::StatusOr<eventstore::AppendResult> Append(
      const std::string& order_id, int64_t expected_version,
      const std::vector<cart::OrderEvent>& events,
      const eventstore::Metadata& /*metadata*/) override {
    absl::MutexLock lock(&mu_);
    ++appends_;
    if (!failures_.empty()) {
      absl::Status failure = failures_.front();
      failures_.pop_front();
      return failure;
    }
    cart::LoadedOrder& stored = orders_[order_id];
    if (stored.version != expected_version) {
      return eventstore::WrongExpectedVersionError(
          cart::OrderStreamOf(order_id),
          eventstore::ExpectedVersion::Exactly(expected_version),
          stored.version);
    }
    for (const cart::OrderEvent& event : events) {
      stored.order = Evolve(std::move(stored.order), event, absl::Now());
      ++stored.version;
    }
    eventstore::AppendResult result;
    result.version = stored.version;
    return result;
  }
  absl::StatusOr<std::vector<cart::PlacedOrder>> ListPlaced(
      const std::string& /*customer_id*/, int64_t /*before*/,
      int /*max_count*/) override {
    return absl::UnimplementedError("not needed by these tests");
  }

 private:
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, cart::LoadedOrder> orders_
      ABSL_GUARDED_BY(mu_);
  std::deque<absl::Status> failures_ ABSL_GUARDED_BY(mu_);
  int appends_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace shop::testing
