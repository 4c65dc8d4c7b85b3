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
// last write left. Commands of one stream take turns instead of conflicting
// in the database; commands of other streams never wait for them. Cached
// state may trail other replicas: a write decided on it is still guarded by
// the append's expected version, and callers confirm refusals and no-ops on
// a fresh load. An instance is used either with Acquire/Combine, where
// threads wait for their turn, or with Enter/Next, where none waits.
template <typename State>
class StripedStates final {
 public:
  struct Versioned {
    State state;
    int64_t version = 0;
    // The version the stored snapshot reflects.
    int64_t snapshot_version = 0;
  };

  // A command waiting for its stream's turn.
  struct Waiter {
    // Whether it may share a batch with other commands of its stream.
    bool combinable = true;
    bool done = false;
  };

  // Holds one stream's turn for the duration of a command.
  class Lock final {
   public:
    Lock(const Lock&) = delete;
    Lock& operator=(const Lock&) = delete;
    ~Lock() {
      absl::MutexLock lock(&stripe_->mu);
      EndTurn(*stripe_, id_);
    }

    // The cached state of the stream, removed from the cache: only a
    // successful write puts a state back.
    std::optional<Versioned> Take() {
      absl::MutexLock lock(&stripe_->mu);
      return TakeCached(*stripe_, id_);
    }
    void Put(Versioned value) {
      absl::MutexLock lock(&stripe_->mu);
      PutCached(*stripe_, id_, std::move(value));
    }

   private:
    friend class StripedStates;
    Lock(typename StripedStates::Stripe* stripe, std::string id)
        : stripe_(stripe), id_(std::move(id)) {}
    typename StripedStates::Stripe* stripe_;
    std::string id_;
  };

  // Waits for the turn of stream `id`, behind the commands already queued.
  Lock Acquire(const std::string& id) {
    Stripe& stripe = StripeOf(id);
    Waiter waiter{.combinable = false};
    absl::MutexLock lock(&stripe.mu);
    TakeTurn(stripe, id, &waiter);
    stripe.queues.at(id).waiting.pop_front();
    return Lock(&stripe, id);
  }

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
    std::vector<W*> batch;
    std::optional<Versioned> cached;
    {
      absl::MutexLock lock(&stripe.mu);
      if (!TakeTurn(stripe, id, waiter)) return;
      Turn<W> turn = TakeFront<W>(stripe, id, max_batch);
      batch = std::move(turn.batch);
      cached = std::move(turn.cached);
    }
    std::optional<Versioned> after = run(std::move(cached), batch);
    absl::MutexLock lock(&stripe.mu);
    if (after.has_value()) PutCached(stripe, id, *std::move(after));
    for (W* member : batch) member->done = true;
    EndTurn(stripe, id);
  }

  // A stream's turn without a thread waiting for it: the commands to run,
  // taken from the front of the queue as Combine takes them, and the state
  // the stream's last write left.
  template <typename W>
  struct Turn {
    std::vector<W*> batch;
    std::optional<Versioned> cached;
  };

  // Queues `waiter` behind the commands of stream `id` and returns at once:
  // with the turn when the stream was free (the caller runs it, then calls
  // Next), or empty when the turn in progress will take it.
  template <typename W>
  std::optional<Turn<W>> Enter(const std::string& id, W* waiter,
                               size_t max_batch) {
    Stripe& stripe = StripeOf(id);
    absl::MutexLock lock(&stripe.mu);
    Queue& queue = stripe.queues[id];
    queue.waiting.push_back(waiter);
    if (queue.running) return std::nullopt;
    absl::MutexLock count(&turns_mu_);
    ++turns_;
    return TakeFront<W>(stripe, id, max_batch);
  }

  // Ends a turn of `id` from Enter or Next, caching `after` if set. When
  // commands queued meanwhile, the turn goes on with them: returns them.
  template <typename W>
  std::optional<Turn<W>> Next(const std::string& id,
                              std::optional<Versioned> after,
                              size_t max_batch) {
    Stripe& stripe = StripeOf(id);
    {
      absl::MutexLock lock(&stripe.mu);
      if (after.has_value()) PutCached(stripe, id, *std::move(after));
      auto it = stripe.queues.find(id);
      if (!it->second.waiting.empty()) {
        return TakeFront<W>(stripe, id, max_batch);
      }
      stripe.queues.erase(it);
    }
    // Last, so that AwaitNoTurns returns only once this is out of the
    // stripes.
    absl::MutexLock count(&turns_mu_);
    --turns_;
    return std::nullopt;
  }

  // Waits until no turn from Enter is in progress: every command queued
  // with Enter has been run and passed on with Next.
  void AwaitNoTurns() {
    absl::MutexLock lock(&turns_mu_);
    auto none = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(turns_mu_) {
      return turns_ == 0;
    };
    turns_mu_.Await(absl::Condition(&none));
  }

  // Commands of `id` waiting for their turn (for tests).
  size_t Queued(const std::string& id) {
    Stripe& stripe = StripeOf(id);
    absl::MutexLock lock(&stripe.mu);
    auto it = stripe.queues.find(id);
    if (it == stripe.queues.end()) return 0;
    return it->second.waiting.size();
  }

 private:
  static constexpr size_t kMaxPerStripe = 4096;
  struct Queue {
    std::deque<Waiter*> waiting;
    bool running = false;  // a command of this stream holds its turn
  };
  struct Stripe {
    absl::Mutex mu;
    absl::flat_hash_map<std::string, Versioned> cache ABSL_GUARDED_BY(mu);
    absl::flat_hash_map<std::string, Queue> queues ABSL_GUARDED_BY(mu);
  };

  Stripe& StripeOf(const std::string& id) {
    return stripes_[absl::Hash<std::string>{}(id) % stripes_.size()];
  }

  // Queues `waiter` and waits until another command's turn has run it
  // (false) or it is first in line with the stream free (true: the turn is
  // taken, and the waiter still at the front of the queue).
  static bool TakeTurn(Stripe& stripe, const std::string& id, Waiter* waiter)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(stripe.mu) {
    stripe.queues[id].waiting.push_back(waiter);
    auto done_or_first = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(stripe.mu) {
      if (waiter->done) return true;
      const Queue& queue = stripe.queues.at(id);
      return !queue.running && queue.waiting.front() == waiter;
    };
    stripe.mu.Await(absl::Condition(&done_or_first));
    if (waiter->done) return false;
    stripe.queues.at(id).running = true;
    return true;
  }

  // Takes the front of a stream's queue, one command that is not
  // combinable or up to `max_batch` that are, with the cached state.
  template <typename W>
  static Turn<W> TakeFront(Stripe& stripe, const std::string& id,
                           size_t max_batch)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(stripe.mu) {
    Queue& queue = stripe.queues.at(id);
    queue.running = true;
    Turn<W> turn;
    do {
      turn.batch.push_back(static_cast<W*>(queue.waiting.front()));
      queue.waiting.pop_front();
    } while (turn.batch.front()->combinable && turn.batch.size() < max_batch &&
             !queue.waiting.empty() && queue.waiting.front()->combinable);
    turn.cached = TakeCached(stripe, id);
    return turn;
  }

  static void EndTurn(Stripe& stripe, const std::string& id)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(stripe.mu) {
    auto it = stripe.queues.find(id);
    it->second.running = false;
    if (it->second.waiting.empty()) stripe.queues.erase(it);
  }

  static std::optional<Versioned> TakeCached(Stripe& stripe,
                                             const std::string& id)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(stripe.mu) {
    auto it = stripe.cache.find(id);
    if (it == stripe.cache.end()) return std::nullopt;
    Versioned value = std::move(it->second);
    stripe.cache.erase(it);
    return value;
  }

  static void PutCached(Stripe& stripe, const std::string& id, Versioned value)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(stripe.mu) {
    if (stripe.cache.size() >= kMaxPerStripe) stripe.cache.clear();
    stripe.cache.insert_or_assign(id, std::move(value));
  }

  std::array<Stripe, 64> stripes_;
  absl::Mutex turns_mu_;
  // Turns from Enter not yet ended by Next.
  int turns_ ABSL_GUARDED_BY(turns_mu_) = 0;
};

}  // namespace eventstore
