// Owns the turn of a product: which thread decides, when the database is
// waited for, how a refused or lost append is retried, and who is answered.
#include "services/inventory/app/product_turns.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "common/errors/errors.h"
#include "common/eventstore/expected_version.h"

namespace inventory {
namespace {

// An append not written because a caller's deadline passed: the others in
// it are decided again without that caller.
bool DeadlinePassedUnwritten(const absl::Status& status) {
  return shop::ReasonOf(status) == eventstore::kDeadlinePassedReason &&
         !shop::OutcomeUnknown(status);
}

// Whether a failed append certainly wrote nothing and may be decided again:
// the stream had moved on, a unique index refused an event, or a caller's
// deadline passed before it was written.
bool RefusedUnwritten(const absl::Status& status) {
  return eventstore::AsWrongExpectedVersion(status).has_value() ||
         shop::ReasonOf(status) == eventstore::kUniqueViolationReason ||
         DeadlinePassedUnwritten(status);
}

}  // namespace

// One product's turn, from the batch the queue hands it to the last answer;
// it then takes the commands queued meanwhile, until there are none. Its
// stages: DecideInMemory (inline, on the product the last write left),
// Appended (the append's callback), ToWorker/WriteWaiting (loads, history,
// retries) and End. Whoever holds the unique_ptr runs it.
class ProductTurns::Turn final {
 public:
  Turn(ProductTurns& turns, std::string product_id)
      : turns_(turns), product_id_(std::move(product_id)) {}

  // Runs the turn of `batch`, on `cached` when the product is in memory.
  static void Run(std::unique_ptr<Turn> self, Batch batch,
                  std::optional<CachedProduct> cached) {
    self->batch_ = std::move(batch);
    self->cached_ = std::move(cached);
    if (self->cached_.has_value()) {
      DecideInMemory(std::move(self));
    } else {
      ToWorker(std::move(self));
    }
  }

 private:
  static void DecideInMemory(std::unique_ptr<Turn> self) {
    Turn* turn = self.get();
    turn->AnswerExpired();
    if (turn->batch_.empty()) return End(std::move(self));
    CachedProduct& state = *turn->cached_;
    const int64_t loaded_version = state.version;
    BatchDecision decision =
        DecideBatch(turn->product_id_, state, turn->batch_, /*pasts=*/{},
                    turn->turns_.options_.clock());
    if (decision.events.empty()) {
      // Refusals and no-ops alone are confirmed on a fresh load, and a
      // command that needs history waits for the database there.
      turn->cached_.reset();
      ToWorker(std::move(self));
      return;
    }
    // The callback owns the turn, so `state` lives until it has run.
    turn->turns_.store_->AppendAsync(
        turn->product_id_, loaded_version, std::move(decision.events),
        state.state, &state.snapshot_version,
        turn->DeadlineOf(decision.decided),
        [self = std::move(self), decided = decision.decided](
            absl::StatusOr<eventstore::AppendResult> appended) mutable {
          Appended(std::move(self), decided, std::move(appended));
        });
  }

  // The answer of the append of the first `decided` commands.
  static void Appended(std::unique_ptr<Turn> self, size_t decided,
                       absl::StatusOr<eventstore::AppendResult> appended) {
    Turn* turn = self.get();
    if (!appended.ok()) {
      turn->cached_.reset();
      if (!RefusedUnwritten(appended.status())) {
        // The write may have landed (a connection lost after the commit):
        // deciding again could apply it twice, so its callers get the
        // error; the commands left out of it run on a fresh load.
        turn->Answer(decided, appended.status());
        if (turn->batch_.empty()) return End(std::move(self));
      }
      // A stale product or a reused id: decided again on a fresh load.
      return ToWorker(std::move(self));
    }
    turn->cached_->version = appended->version;
    turn->NoteWritten(decided, appended->position);
    turn->Answer(decided);
    if (turn->batch_.empty()) return End(std::move(self));
    DecideInMemory(std::move(self));
  }

  static void ToWorker(std::unique_ptr<Turn> self) {
    Turn* turn = self.get();
    turn->turns_.workers_->Schedule([self = std::move(self)]() mutable {
      // A batch whose events outgrow one append is written in turns.
      while (!self->batch_.empty()) self->WriteWaiting();
      End(std::move(self));
    });
  }

  // Ends the turn, caching the product, and runs what queued meanwhile.
  static void End(std::unique_ptr<Turn> self) {
    ProductTurns& turns = self->turns_;
    std::optional<shop::TurnQueue<Product>::OwnedTurn<Command>> next =
        turns.products_.NextOwned<Command>(
            self->product_id_, std::exchange(self->cached_, std::nullopt),
            kMaxBatch);
    if (!next.has_value()) return;
    Run(std::move(self), std::move(next->batch), std::move(next->cached));
  }

  // Decides and writes the front of the batch, waiting for the database,
  // and answers the commands it settled.
  void WriteWaiting() {
    // Counts the attempts lost to other writers; confirming a decision on
    // a fresh load, or learning from history that an id was used, costs
    // none.
    const ProductTurnsOptions& options = turns_.options_;
    eventstore::AppendRetry retry(options.max_attempts);
    auto give_up = [&](const absl::Status& status) {
      Answer(batch_.size(),
             retry.Answer(status, kErrorDomain, StreamOf(product_id_)));
    };
    for (;;) {
      AnswerExpired();
      if (batch_.empty()) return;
      // Only a write may rest on cached state (its append checks the
      // version); refusals and no-ops alone are confirmed on a fresh load.
      const bool from_cache = cached_.has_value();
      CachedProduct state;
      if (from_cache) {
        state = *std::exchange(cached_, std::nullopt);
      } else {
        absl::StatusOr<LoadedProduct> fresh = turns_.store_->Load(product_id_);
        if (!fresh.ok()) return Answer(batch_.size(), fresh.status());
        state = {std::move(fresh->product), fresh->version,
                 fresh->snapshot_version};
        // Another writer may have used an unknown id since it was looked
        // up; an ended reservation stays ended.
        absl::erase_if(
            pasts_, [](const auto& past) { return !past.second.has_value(); });
      }
      const int64_t loaded_version = state.version;
      BatchDecision decision;
      for (;;) {
        decision = DecideBatch(product_id_, state, batch_, pasts_,
                               options.clock(), alone_ > 0 ? 1 : kMaxBatch);
        if (decision.decided > 0) break;
        if (!decision.needs_past.has_value()) {
          return Answer(batch_.size(),
                        absl::InternalError("a command could not be decided"));
        }
        // Looked up before deciding, on the same product (nothing decided
        // changed it).
        absl::StatusOr<Past> past =
            turns_.store_->FindPast(product_id_, *decision.needs_past);
        if (!past.ok()) {
          cached_ = std::move(state);
          return Answer(1, past.status());
        }
        pasts_[*decision.needs_past] = *std::move(past);
      }
      if (decision.events.empty()) {
        if (from_cache) continue;
        cached_ = std::move(state);
        return Answer(decision.decided);
      }
      absl::StatusOr<eventstore::AppendResult> appended = turns_.store_->Append(
          product_id_, loaded_version, decision.events, state.state,
          &state.snapshot_version, DeadlineOf(decision.decided));
      if (appended.ok()) {
        state.version = appended->version;
        NoteWritten(decision.decided, appended->position);
        cached_ = std::move(state);
        return Answer(decision.decided);
      }
      if (DeadlinePassedUnwritten(appended.status())) {
        // Nothing was written: the state still holds.
        cached_ = std::move(state);
        continue;
      }
      if (shop::ReasonOf(appended.status()) ==
          eventstore::kUniqueViolationReason) {
        if (decision.decided == 1) {
          if (batch_[0]->reused && !retry.Spend()) {
            return give_up(appended.status());
          }
          batch_[0]->reused = true;
          continue;
        }
        // One command's events were refused: each is decided on its own.
        alone_ = decision.decided;
        continue;
      }
      // Another replica wrote first: decide again on the new state. Only
      // commands without an expected version share a batch.
      if (!retry.Again(appended.status(), batch_[0]->context)) {
        return give_up(appended.status());
      }
    }
  }

  // The earliest deadline among the first `count` commands' callers: their
  // append is not written after it.
  absl::Time DeadlineOf(size_t count) const {
    absl::Time deadline = absl::InfiniteFuture();
    for (size_t i = 0; i < count; ++i) {
      const std::optional<absl::Time>& own = batch_[i]->context.deadline;
      if (own.has_value()) deadline = std::min(deadline, *own);
    }
    return deadline;
  }

  // Answers, without deciding them, the commands whose caller's deadline
  // has passed: nothing is written for a caller who is gone.
  void AnswerExpired() {
    const absl::Time now = absl::Now();
    auto expired = [now](const std::unique_ptr<Command>& command) {
      return command->context.deadline.has_value() &&
             *command->context.deadline <= now;
    };
    if (std::none_of(batch_.begin(), batch_.end(), expired)) return;
    Batch kept;
    Batch gone;
    size_t gone_alone = 0;
    for (size_t i = 0; i < batch_.size(); ++i) {
      if (expired(batch_[i])) {
        if (i < alone_) ++gone_alone;
        gone.push_back(std::move(batch_[i]));
      } else {
        kept.push_back(std::move(batch_[i]));
      }
    }
    batch_ = std::move(kept);
    alone_ -= gone_alone;
    for (std::unique_ptr<Command>& command : gone) {
      std::move(command->done)(shop::MakeError(
          absl::StatusCode::kDeadlineExceeded, kErrorDomain,
          eventstore::kDeadlinePassedReason,
          "the call's deadline passed before it was decided: nothing was "
          "written",
          {{shop::kWrittenFact, shop::kNotWritten}}));
    }
  }

  // The first `count` commands' events were written at `position`.
  void NoteWritten(size_t count, eventstore::GlobalPosition position) {
    for (size_t i = 0; i < count; ++i) {
      absl::StatusOr<Outcome>& result = batch_[i]->result;
      if (result.ok() && !result->events.empty()) result->position = position;
    }
  }

  // Answers the first `count` commands with their results, or `error`.
  void Answer(size_t count, std::optional<absl::Status> error = std::nullopt) {
    Batch answered(std::make_move_iterator(batch_.begin()),
                   std::make_move_iterator(batch_.begin() + count));
    batch_.erase(batch_.begin(), batch_.begin() + count);
    alone_ -= std::min(alone_, count);
    for (std::unique_ptr<Command>& command : answered) {
      if (error.has_value()) command->result = *error;
      if (command->result.ok()) {
        for (const Event& event : command->result->events) {
          turns_.appended_[event.index()]->Increment();
        }
      }
      std::move(command->done)(std::move(command->result));
    }
  }

  ProductTurns& turns_;
  const std::string product_id_;
  Batch batch_;
  // The product as this turn's last write left it, if known.
  std::optional<CachedProduct> cached_;
  // What history said about reservations that are not live.
  Pasts pasts_;
  // Commands at the front still to be written one per append.
  size_t alone_ = 0;
};

ProductTurns::ProductTurns(ProductStorage* store, shop::Executor* workers,
                           ProductTurnsOptions options)
    : store_(store), workers_(workers), options_(std::move(options)) {
  for (const std::string& type : ProductEventTypes()) {
    appended_.push_back(options_.metrics->GetCounter(
        "shop_inventory_events_total",
        "Events appended to product streams by this process, by type.",
        {{"type", type}}));
  }
}

ProductTurns::~ProductTurns() { products_.AwaitNoTurns(); }

void ProductTurns::Submit(const std::string& product_id,
                          std::unique_ptr<Command> command) {
  Start(product_id,
        products_.Enter<Command>(product_id, std::move(command), kMaxBatch));
}

void ProductTurns::Start(
    const std::string& product_id,
    std::optional<shop::TurnQueue<Product>::OwnedTurn<Command>> turn) {
  if (!turn.has_value()) return;
  Turn::Run(std::make_unique<Turn>(*this, product_id), std::move(turn->batch),
            std::move(turn->cached));
}

}  // namespace inventory
