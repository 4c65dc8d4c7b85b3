#pragma once

#include <deque>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "services/cart/store/cart_store.h"

namespace shop::testing {

// Carts in memory for the cart app's unit tests: appends check the
// expected version like the event store, and can be scripted to fail.
class FakeCartStore final : public cart::CartStore {
 public:
  // The next appends answer `status`; `committed` says whether they were
  // written anyway (an answer lost after the commit).
  void FailNextAppends(int count, absl::Status status, bool committed) {
    absl::MutexLock lock(&mu_);
    for (int i = 0; i < count; ++i) failures_.push_back({status, committed});
  }
  int appends() const {
    absl::MutexLock lock(&mu_);
    return appends_;
  }

  absl::StatusOr<cart::LoadedCart> Load(const std::string& cart_id) override {
    absl::MutexLock lock(&mu_);
    auto it = carts_.find(cart_id);
    if (it == carts_.end()) return cart::LoadedCart{};
    return it->second;
  }
  absl::StatusOr<eventstore::AppendResult> Append(
      const std::string& cart_id, int64_t expected_version,
      const std::vector<cart::Event>& events, const cart::Cart& after,
      const eventstore::Metadata& /*metadata*/,
      absl::Time /*deadline*/) override {
    absl::MutexLock lock(&mu_);
    ++appends_;
    cart::LoadedCart& stored = carts_[cart_id];
    std::optional<Failure> failure;
    if (!failures_.empty()) {
      failure = failures_.front();
      failures_.pop_front();
    }
    if (failure.has_value() && !failure->committed) return failure->status;
    if (stored.version != expected_version) {
      return eventstore::WrongExpectedVersionError(
          cart::StreamOf(cart_id),
          eventstore::ExpectedVersion::Exactly(expected_version),
          stored.version);
    }
    stored.cart = after;
    stored.version += static_cast<int64_t>(events.size());
    if (failure.has_value()) return failure->status;
    eventstore::AppendResult result;
    result.version = stored.version;
    return result;
  }
  void AppendAsync(const std::string& cart_id, int64_t expected_version,
                   const std::vector<cart::Event>& events,
                   const cart::Cart& after,
                   const eventstore::Metadata& metadata, absl::Time deadline,
                   eventstore::AppendCallback done) override {
    std::move(done)(
        Append(cart_id, expected_version, events, after, metadata, deadline));
  }
  absl::StatusOr<std::vector<eventstore::RecordedEvent>> ReadEvents(
      const std::string& /*cart_id*/, int64_t /*from_version*/,
      int /*max_count*/) override {
    return std::vector<eventstore::RecordedEvent>{};
  }
  absl::StatusOr<eventstore::AppendResult> AppendCheckout(
      const std::string& cart_id, int64_t expected_version,
      const std::vector<cart::Event>& events, const cart::Cart& after,
      const eventstore::Metadata& metadata, const std::string& order_id,
      const cart::v1::OrderPlaced& placed,
      const eventstore::Metadata& /*order_metadata*/) override {
    absl::StatusOr<eventstore::AppendResult> appended =
        Append(cart_id, expected_version, events, after, metadata,
               absl::InfiniteFuture());
    absl::MutexLock lock(&mu_);
    if (appended.ok()) placed_[order_id] = placed;
    return appended;
  }
  // The orders checkouts placed, by order id.
  absl::flat_hash_map<std::string, cart::v1::OrderPlaced> placed() const {
    absl::MutexLock lock(&mu_);
    return placed_;
  }

 private:
  struct Failure {
    absl::Status status;
    bool committed = false;
  };
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, cart::v1::OrderPlaced> placed_
      ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, cart::LoadedCart> carts_
      ABSL_GUARDED_BY(mu_);
  std::deque<Failure> failures_ ABSL_GUARDED_BY(mu_);
  int appends_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace shop::testing
