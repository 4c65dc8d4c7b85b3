#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/time/time.h"
#include "common/eventstore/event_store.h"
#include "common/turns/turn_queue.h"
#include "services/inventory/app/command.h"
#include "services/inventory/domain/product.h"

// Deciding a batch of one product's commands in order on one state: pure,
// so the turn that runs it decides where the I/O happens.
namespace inventory {

using CachedProduct = shop::TurnQueue<Product>::Versioned;
using Batch = std::vector<std::unique_ptr<Command>>;
// What history told the turn about commands' ids.
using Pasts = absl::flat_hash_map<HistoryKey, Past>;

// Commands of one product decided together and written in one append.
inline constexpr size_t kMaxBatch = 64;

struct BatchDecision {
  // The events of the commands decided, in order, for one append.
  std::vector<eventstore::EventData> events;
  // Commands at the front of the batch that have their result.
  size_t decided = 0;
  // Why deciding stopped before the end, if it did for want of history:
  // the id whose past the next command needs from the database...
  std::optional<HistoryKey> needs_past;
  // ...or for which this batch decided an event and has not written it.
  bool waits_for_write = false;
};

// Decides the commands of `batch` in order on `state`, which they evolve,
// setting each one's `result`; stops where the events would outgrow one
// append, a command needs a past that `pasts` does not hold, or
// `max_commands` are decided.
BatchDecision DecideBatch(const std::string& product_id, CachedProduct& state,
                          const Batch& batch, const Pasts& pasts,
                          absl::Time now, size_t max_commands = kMaxBatch);

}  // namespace inventory
