#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"

namespace eventstore {

// The states a read model's leader folded last, by stream, so that its next
// page folds on them instead of reading and parsing them again. An entry is
// used only at the version the model's table holds, so a stale one (another
// replica led meanwhile, a rebuild swapped the tables, a page rolled back)
// is never folded on: the same events folded to the same version give the
// same state.
template <typename State>
class FoldCache {
 public:
  explicit FoldCache(size_t max_entries = 20'000) : max_entries_(max_entries) {}

  // The state of `id` if the cache holds it at `version`; it leaves the
  // cache (Put returns it once folded further).
  std::optional<State> Take(const std::string& id, int64_t version) {
    absl::MutexLock lock(&mu_);
    auto it = entries_.find(id);
    if (it == entries_.end()) return std::nullopt;
    std::optional<State> state;
    if (it->second.first == version) state = std::move(it->second.second);
    entries_.erase(it);
    return state;
  }

  void Put(std::string id, int64_t version, State state) {
    absl::MutexLock lock(&mu_);
    // Bounded by forgetting everything at once: a miss only costs a read.
    if (entries_.size() >= max_entries_) entries_.clear();
    entries_.insert_or_assign(std::move(id),
                              std::make_pair(version, std::move(state)));
  }

 private:
  const size_t max_entries_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::pair<int64_t, State>> entries_
      ABSL_GUARDED_BY(mu_);
};

}  // namespace eventstore
