#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "absl/time/time.h"
#include "common/metrics/metrics.h"
#include "common/turns/turn_queue.h"
#include "common/util/work_queue.h"
#include "services/inventory/app/batch_decision.h"
#include "services/inventory/app/command.h"
#include "services/inventory/store/product_store.h"

namespace inventory {

struct ProductTurnsOptions {
  // Attempts lost to other writers before a command gives up with ABORTED.
  int max_attempts = 8;
  std::function<absl::Time()> clock = [] { return absl::Now(); };
  // Where the events the turns append are counted, by type.
  shop::metrics::Registry* metrics = &shop::metrics::Default();
};

// Runs each product's commands in turns: queue, decide, append, answer,
// next. No thread waits for a turn or an append: a command that finds its
// product free starts the turn, on a product in memory it is decided and
// appended at once, and the append's callback answers it and takes the
// commands queued meanwhile. Whatever must wait for the database (a load,
// a reservation's past, a retry) runs on `workers`.
class ProductTurns final {
 public:
  ProductTurns(ProductStorage* store, shop::Executor* workers,
               ProductTurnsOptions options);
  // Waits for the turns in progress.
  ~ProductTurns();
  ProductTurns(const ProductTurns&) = delete;
  ProductTurns& operator=(const ProductTurns&) = delete;

  // Queues `command` behind the others on its product; its `done` runs
  // once it is answered, on whichever thread answers it.
  void Submit(const std::string& product_id, std::unique_ptr<Command> command);

  // Commands waiting for their product's turn (for tests).
  size_t Queued(const std::string& product_id) {
    return products_.Queued(product_id);
  }

 private:
  class Turn;

  // Starts a turn given by the queue, if any.
  void Start(const std::string& product_id,
             std::optional<shop::TurnQueue<Product>::OwnedTurn<Command>> turn);

  ProductStorage* const store_;
  shop::Executor* const workers_;
  const ProductTurnsOptions options_;
  // shop_inventory_events_total, indexed like the Event variant.
  std::vector<shop::metrics::Counter*> appended_;
  shop::TurnQueue<Product> products_;
};

}  // namespace inventory
