#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/hash/hash.h"
#include "absl/synchronization/mutex.h"

namespace shop {

// Per-stream queueing inside one process, plus the state each stream's
// last write left. Commands of one stream take turns instead of conflicting
// in the database; commands of other streams never wait for them. Cached
// state may trail other replicas: a write decided on it is still guarded by
// the append's expected version, and callers confirm refusals and no-ops on
// a fresh load. No thread waits for its turn: the command that finds its
// stream free runs, and whoever ends a turn runs the commands queued
// meanwhile, so a busy stream's commands share one write.
template <typename State>
class TurnQueue final {
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
  };

  // A stream's turn: the commands to run, taken from the front of its
  // queue (one command that is not combinable, or up to `max_batch` that
  // are), and the state the stream's last write left, removed from the
  // cache (the turn's end puts a state back).
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
    // A stream has a queue while one of its turns is in progress.
    auto [queue, free] = stripe.queues.try_emplace(id);
    queue->second.push_back(waiter);
    if (!free) return std::nullopt;
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
      auto queue = stripe.queues.find(id);
      if (!queue->second.empty()) return TakeFront<W>(stripe, id, max_batch);
      stripe.queues.erase(queue);
    }
    // Last, so that AwaitNoTurns returns only once this is out of the
    // stripes.
    absl::MutexLock count(&turns_mu_);
    --turns_;
    return std::nullopt;
  }

  // A turn whose commands the turn owns: whoever runs it answers and frees
  // them.
  template <typename W>
  struct OwnedTurn {
    std::vector<std::unique_ptr<W>> batch;
    std::optional<Versioned> cached;
  };

  // Enter for a command the queue owns until its turn hands it over.
  template <typename W>
  std::optional<OwnedTurn<W>> Enter(const std::string& id,
                                    std::unique_ptr<W> waiter,
                                    size_t max_batch) {
    return Owned(Enter<W>(id, waiter.release(), max_batch));
  }
  // Next for turns of owned commands.
  template <typename W>
  std::optional<OwnedTurn<W>> NextOwned(const std::string& id,
                                        std::optional<Versioned> after,
                                        size_t max_batch) {
    return Owned(Next<W>(id, std::move(after), max_batch));
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
    return it->second.size();
  }

 private:
  static constexpr size_t kMaxPerStripe = 4096;

  template <typename W>
  static std::optional<OwnedTurn<W>> Owned(std::optional<Turn<W>> turn) {
    if (!turn.has_value()) return std::nullopt;
    OwnedTurn<W> owned{{}, std::move(turn->cached)};
    owned.batch.reserve(turn->batch.size());
    for (W* waiter : turn->batch) owned.batch.emplace_back(waiter);
    return owned;
  }

  struct Stripe {
    absl::Mutex mu;
    absl::flat_hash_map<std::string, Versioned> cache ABSL_GUARDED_BY(mu);
    // Commands waiting for the turn in progress, per stream.
    absl::flat_hash_map<std::string, std::deque<Waiter*>> queues
        ABSL_GUARDED_BY(mu);
  };

  Stripe& StripeOf(const std::string& id) {
    return stripes_[absl::Hash<std::string>{}(id) % stripes_.size()];
  }

  // Takes the front of a stream's queue, one command that is not
  // combinable or up to `max_batch` that are, with the cached state.
  template <typename W>
  static Turn<W> TakeFront(Stripe& stripe, const std::string& id,
                           size_t max_batch)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(stripe.mu) {
    std::deque<Waiter*>& queue = stripe.queues.at(id);
    Turn<W> turn;
    do {
      turn.batch.push_back(static_cast<W*>(queue.front()));
      queue.pop_front();
    } while (turn.batch.front()->combinable && turn.batch.size() < max_batch &&
             !queue.empty() && queue.front()->combinable);
    turn.cached = TakeCached(stripe, id);
    return turn;
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

}  // namespace shop
