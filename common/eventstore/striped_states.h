#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/hash/hash.h"
#include "absl/synchronization/mutex.h"

namespace eventstore {

// Per-stream queueing inside one process, plus the state each stream's
// last write left. Writers of one stream wait on its stripe instead of
// conflicting in the database. Cached state may trail other replicas: a
// write decided on it is still guarded by the append's expected version,
// and callers confirm refusals and no-ops on a fresh load.
template <typename State>
class StripedStates final {
 public:
  struct Versioned {
    State state;
    int64_t version = 0;
  };

  // Holds one stream's stripe for the duration of a command.
  class Lock final {
   public:
    Lock(const Lock&) = delete;
    Lock& operator=(const Lock&) = delete;
    ~Lock() { stripe_->mu.Unlock(); }

    // The cached state of `id`, removed from the cache: only a successful
    // write puts a state back.
    std::optional<Versioned> Take(const std::string& id) {
      auto it = stripe_->cache.find(id);
      if (it == stripe_->cache.end()) return std::nullopt;
      Versioned value = std::move(it->second);
      stripe_->cache.erase(it);
      return value;
    }
    void Put(const std::string& id, Versioned value) {
      if (stripe_->cache.size() >= kMaxPerStripe) stripe_->cache.clear();
      stripe_->cache.insert_or_assign(id, std::move(value));
    }

   private:
    friend class StripedStates;
    explicit Lock(typename StripedStates::Stripe* stripe) : stripe_(stripe) {
      stripe_->mu.Lock();
    }
    typename StripedStates::Stripe* stripe_;
  };

  Lock Acquire(const std::string& id) {
    return Lock(&stripes_[absl::Hash<std::string>{}(id) % stripes_.size()]);
  }

 private:
  static constexpr size_t kMaxPerStripe = 4096;
  struct Stripe {
    absl::Mutex mu;
    absl::flat_hash_map<std::string, Versioned> cache;
  };
  std::array<Stripe, 64> stripes_;
};

}  // namespace eventstore
