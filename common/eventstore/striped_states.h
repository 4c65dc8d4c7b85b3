#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/functional/function_ref.h"
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
    // The version the stored snapshot reflects.
    int64_t snapshot_version = 0;
  };

  // A command waiting for its stream's turn in Combine.
  struct Waiter {
    // Whether it may share a batch with other commands of its stream.
    bool combinable = true;
    bool done = false;
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

  Lock Acquire(const std::string& id) { return Lock(&StripeOf(id)); }

  // Runs `waiter` in turn with the other commands of stream `id`. The first
  // in line leads: it takes the front of the queue (one command that is not
  // combinable, or up to `max_batch` that are) and, outside the stripe's
  // lock, hands them and the stream's cached state to `run`, which answers
  // every command of the batch and returns the state to cache, if any. So a
  // busy stream's commands share one write instead of queueing for one
  // each. Returns once `waiter` has been run, by this thread or another.
  template <typename W>
  void Combine(const std::string& id, W* waiter, size_t max_batch,
               absl::FunctionRef<std::optional<Versioned>(
                   std::optional<Versioned> cached, std::vector<W*> batch)>
                   run) {
    Stripe& stripe = StripeOf(id);
    stripe.mu.Lock();
    stripe.queues[id].waiting.push_back(waiter);
    auto done_or_first = [&] {
      if (waiter->done) return true;
      const Queue& queue = stripe.queues.at(id);
      return !queue.running && queue.waiting.front() == waiter;
    };
    stripe.mu.Await(
        absl::Condition(&done_or_first, &decltype(done_or_first)::operator()));
    if (waiter->done) {
      stripe.mu.Unlock();
      return;
    }
    Queue& queue = stripe.queues.at(id);
    queue.running = true;
    std::vector<W*> batch;
    do {
      batch.push_back(static_cast<W*>(queue.waiting.front()));
      queue.waiting.pop_front();
    } while (waiter->combinable && batch.size() < max_batch &&
             !queue.waiting.empty() && queue.waiting.front()->combinable);
    std::optional<Versioned> cached;
    if (auto it = stripe.cache.find(id); it != stripe.cache.end()) {
      cached = std::move(it->second);
      stripe.cache.erase(it);
    }
    stripe.mu.Unlock();

    std::optional<Versioned> after = run(std::move(cached), batch);

    stripe.mu.Lock();
    if (after.has_value()) {
      if (stripe.cache.size() >= kMaxPerStripe) stripe.cache.clear();
      stripe.cache.insert_or_assign(id, *std::move(after));
    }
    for (W* member : batch) member->done = true;
    Queue& rest = stripe.queues.at(id);
    rest.running = false;
    if (rest.waiting.empty()) stripe.queues.erase(id);
    stripe.mu.Unlock();
  }

  // Commands of `id` waiting in Combine for a leader to take them.
  size_t Queued(const std::string& id) {
    Stripe& stripe = StripeOf(id);
    absl::MutexLock lock(&stripe.mu);
    auto it = stripe.queues.find(id);
    return it == stripe.queues.end() ? 0 : it->second.waiting.size();
  }

 private:
  static constexpr size_t kMaxPerStripe = 4096;
  struct Queue {
    std::deque<Waiter*> waiting;
    bool running = false;  // a leader is writing this stream's batch
  };
  struct Stripe {
    absl::Mutex mu;
    absl::flat_hash_map<std::string, Versioned> cache;
    absl::flat_hash_map<std::string, Queue> queues;
  };

  Stripe& StripeOf(const std::string& id) {
    return stripes_[absl::Hash<std::string>{}(id) % stripes_.size()];
  }

  std::array<Stripe, 64> stripes_;
};

}  // namespace eventstore
