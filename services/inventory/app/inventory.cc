#include "services/inventory/app/inventory.h"

#include <algorithm>
#include <memory>
#include <string>
#include <utility>
#include <variant>

#include "absl/container/flat_hash_set.h"
#include "absl/functional/function_ref.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "common/errors/errors.h"
#include "common/logging/log.h"
#include "common/util/overloaded.h"

namespace inventory {

namespace {

// Commands of one product decided together and written in one append.
constexpr size_t kMaxBatch = 64;

}  // namespace

struct Inventory::Command final : shop::TurnQueue<Product>::Waiter {
  Command(CallContext context, std::string reservation_id, Decider decide,
          Done done, bool reads_history)
      : context(std::move(context)),
        reservation_id(std::move(reservation_id)),
        decide(std::move(decide)),
        done(std::move(done)),
        reads_history(reads_history) {
    combinable = !this->context.expected_version.has_value();
  }

  const CallContext context;
  const std::string reservation_id;
  Decider decide;
  Done done;
  const bool reads_history;
  // A unique index refused this command's events before.
  bool reused = false;
  bool answered = false;
  absl::StatusOr<Outcome> result = absl::InternalError("command not run");
};

namespace {

// Whether a command about `reservation_id` must look in the product's
// history to learn how the reservation ended.
bool HistoryNeeded(const Product& product, const std::string& reservation_id) {
  return product.exists && !product.reservations().contains(reservation_id);
}

// Whether a failed append certainly wrote nothing and may be decided again:
// the stream had moved on, or a unique index refused an event.
bool RefusedUnwritten(const absl::Status& status) {
  return eventstore::AsWrongExpectedVersion(status).has_value() ||
         shop::ReasonOf(status) == eventstore::kUniqueViolationReason;
}

// A decider for a command whose rule needs nothing but the product.
template <typename C>
auto DecideOnState(const std::string& product_id, C command) {
  return [product_id, command = std::move(command)](const Product& product,
                                                    bool /*reused*/) {
    return Decide(product_id, command, product);
  };
}

// Waits for the answer of a command started by `start`.
absl::StatusOr<Outcome> Await(absl::FunctionRef<void(Done)> start) {
  absl::Notification answered;
  absl::StatusOr<Outcome> outcome;
  start([&](absl::StatusOr<Outcome> result) {
    outcome = std::move(result);
    answered.Notify();
  });
  answered.WaitForNotification();
  return outcome;
}

// Hands each answered command of `batch` its result and removes it.
template <typename C>
void AnswerAnswered(std::vector<C*>& batch) {
  std::erase_if(batch, [](C* command) {
    if (!command->answered) return false;
    std::unique_ptr<C> owned(command);
    std::move(owned->done)(std::move(owned->result));
    return true;
  });
}

}  // namespace

Inventory::Inventory(ProductStore* store, InventoryOptions options)
    : store_(store),
      options_(std::move(options)),
      workers_(std::max(options_.workers, 1)) {}

Inventory::~Inventory() { products_.AwaitNoTurns(); }

void Inventory::Execute(std::string product_id, CallContext context,
                        std::string reservation_id, Decider decide, Done done,
                        bool reads_history) {
  // Owned by the product's queue until answered.
  auto* command =
      new Command(std::move(context), std::move(reservation_id),
                  std::move(decide), std::move(done), reads_history);
  std::optional<Turn> turn =
      products_.Enter<Command>(product_id, command, kMaxBatch);
  if (turn.has_value()) Run(std::move(product_id), *std::move(turn));
}

void Inventory::Run(std::string product_id, Turn turn) {
  if (!turn.cached.has_value()) {
    RunOnWorker(std::move(product_id), std::move(turn.batch), std::nullopt);
    return;
  }
  // Kept alive by the append's callback, which moves the snapshot version.
  auto state = std::make_unique<Cached>(*std::move(turn.cached));
  const int64_t loaded_version = state->version;
  std::pair<std::vector<eventstore::EventData>, size_t> decision =
      DecideInOrder(product_id, *state, turn.batch, /*may_block=*/false);
  std::vector<eventstore::EventData>& data = decision.first;
  const size_t decided = decision.second;
  if (data.empty()) {
    // Refusals and no-ops alone are confirmed on a fresh load, and a
    // command that reads history waits for the database there.
    RunOnWorker(std::move(product_id), std::move(turn.batch), std::nullopt);
    return;
  }
  Cached& written = *state;
  store_->AppendAsync(
      product_id, loaded_version, std::move(data), written.state,
      &written.snapshot_version,
      [this, product_id, batch = std::move(turn.batch), decided,
       state = std::move(state)](
          absl::StatusOr<eventstore::AppendResult> appended) mutable {
        if (!appended.ok()) {
          if (RefusedUnwritten(appended.status())) {
            // A stale cache or a reused id: decide again on a fresh load.
            RunOnWorker(std::move(product_id), std::move(batch), std::nullopt);
            return;
          }
          // The write may have landed (a connection lost after the commit):
          // deciding again could apply it twice, so its callers get the
          // error; the commands left out of it run on a fresh load.
          for (size_t i = 0; i < decided; ++i) {
            batch[i]->result = appended.status();
            batch[i]->answered = true;
          }
          AnswerAnswered(batch);
          RunOnWorker(std::move(product_id), std::move(batch), std::nullopt);
          return;
        }
        state->version = appended->version;
        for (size_t i = 0; i < decided; ++i) batch[i]->answered = true;
        AnswerAnswered(batch);
        if (batch.empty()) {
          Continue(product_id, std::move(*state));
        } else {
          Run(std::move(product_id), {std::move(batch), std::move(*state)});
        }
      });
}

void Inventory::RunOnWorker(std::string product_id, std::vector<Command*> batch,
                            std::optional<Cached> cached) {
  workers_.Schedule([this, product_id = std::move(product_id),
                     batch = std::move(batch),
                     cached = std::move(cached)]() mutable {
    // A batch whose events outgrow one append is written in turns.
    while (!batch.empty()) {
      cached = RunBatch(product_id, std::move(cached), batch);
      AnswerAnswered(batch);
    }
    Continue(product_id, std::move(cached));
  });
}

void Inventory::Continue(const std::string& product_id,
                         std::optional<Cached> after) {
  std::optional<Turn> next =
      products_.Next<Command>(product_id, std::move(after), kMaxBatch);
  if (next.has_value()) Run(product_id, *std::move(next));
}

std::pair<std::vector<eventstore::EventData>, size_t> Inventory::DecideInOrder(
    const std::string& product_id, Cached& state,
    const std::vector<Command*>& batch, bool may_block) {
  const int64_t loaded_version = state.version;
  std::vector<eventstore::EventData> data;
  size_t decided = 0;
  // Reservations this batch ends: history in the database does not show
  // them until the batch is written.
  absl::flat_hash_set<std::string> ended;
  for (Command* command : batch) {
    // Leave room for the largest decision; the rest go in the next turn.
    if (decided > 0 && data.size() + kMaxExpiriesPerDecision + 1 >
                           eventstore::EventStore::kMaxEventsPerAppend) {
      break;
    }
    if ((command->reads_history || command->reused) &&
        HistoryNeeded(state.state, command->reservation_id) &&
        (!may_block || ended.contains(command->reservation_id))) {
      break;
    }
    ++decided;
    const int64_t version = loaded_version + static_cast<int64_t>(data.size());
    const std::optional<int64_t>& expected = command->context.expected_version;
    if (expected.has_value() && *expected != version) {
      command->result = eventstore::WrongExpectedVersionError(
          StreamOf(product_id), eventstore::ExpectedVersion::Exactly(*expected),
          version);
      continue;
    }
    absl::StatusOr<std::vector<Event>> events =
        command->decide(state.state, command->reused);
    if (!events.ok()) {
      command->result = events.status();
      continue;
    }
    for (const Event& event : *events) {
      state.state = Evolve(std::move(state.state), event);
      std::visit(shop::Overloaded{
                     [&](const v1::StockReleased& e) {
                       ended.insert(e.reservation_id());
                     },
                     [&](const v1::StockCommitted& e) {
                       ended.insert(e.reservation_id());
                     },
                     [&](const v1::ReservationExpired& e) {
                       ended.insert(e.reservation_id());
                     },
                     [](const auto&) {},
                 },
                 event);
    }
    std::vector<eventstore::EventData> written =
        EventDataOf(*events, command->context.metadata);
    data.insert(data.end(), std::make_move_iterator(written.begin()),
                std::make_move_iterator(written.end()));
    Outcome outcome{.version = version + static_cast<int64_t>(events->size()),
                    .events = *std::move(events),
                    .price_cents = state.state.price_cents,
                    .on_hand = state.state.on_hand,
                    .available = state.state.available(),
                    .reservation = std::nullopt};
    if (auto live = state.state.reservations().find(command->reservation_id);
        live != state.state.reservations().end()) {
      outcome.reservation = live->second;
    }
    command->result = std::move(outcome);
  }
  return {std::move(data), decided};
}

std::optional<Inventory::Cached> Inventory::RunBatch(
    const std::string& product_id, std::optional<Cached> cached,
    const std::vector<Command*>& batch) {
  auto answer_all = [&](const absl::Status& status) {
    for (Command* command : batch) {
      command->result = status;
      command->answered = true;
    }
    return std::nullopt;
  };
  // Counts the attempts lost to other writers; confirming a decision on a
  // fresh load, or learning from history that an id was used, costs none.
  for (int attempt = 1; attempt <= options_.max_attempts;) {
    // Only a write may rest on cached state (its append checks the
    // version); refusals and no-ops alone are confirmed on a fresh load.
    const bool from_cache = cached.has_value();
    Cached state;
    if (from_cache) {
      state = *std::move(cached);
      cached.reset();
    } else {
      absl::StatusOr<LoadedProduct> fresh = store_->Load(product_id);
      if (!fresh.ok()) return answer_all(fresh.status());
      state = {std::move(fresh->product), fresh->version,
               fresh->snapshot_version};
    }
    const int64_t loaded_version = state.version;
    auto [data, decided] =
        DecideInOrder(product_id, state, batch, /*may_block=*/true);
    const std::vector<Command*> answered(
        batch.begin(), batch.begin() + static_cast<std::ptrdiff_t>(decided));
    auto answer = [&] {
      for (Command* command : answered) command->answered = true;
    };
    if (data.empty()) {
      if (from_cache) continue;
      answer();
      return state;
    }
    absl::StatusOr<eventstore::AppendResult> appended = store_->Append(
        product_id, loaded_version, data, state.state, &state.snapshot_version);
    if (appended.ok()) {
      answer();
      state.version = appended->version;
      return state;
    }
    if (shop::ReasonOf(appended.status()) ==
        eventstore::kUniqueViolationReason) {
      if (answered.size() == 1) {
        if (answered[0]->reused) ++attempt;
        answered[0]->reused = true;
        continue;
      }
      // One command's events were refused: each is decided on its own.
      std::optional<Cached> last;
      for (Command* command : answered) {
        last = RunBatch(product_id, std::nullopt, {command});
      }
      return last;
    }
    // Another replica wrote first: decide again on the new state. Only
    // commands without an expected version share a batch.
    if (!eventstore::ShouldRetryAppend(appended.status(), batch[0]->context)) {
      return answer_all(appended.status());
    }
    eventstore::BackoffBeforeRetry(++attempt);
  }
  return answer_all(eventstore::ConflictsExhausted(
      kErrorDomain, StreamOf(product_id), options_.max_attempts));
}

absl::StatusOr<PastReservation> Inventory::PastOf(
    const std::string& product_id, const std::string& reservation_id,
    const Product& product) {
  if (!HistoryNeeded(product, reservation_id)) return PastReservation::kNone;
  return store_->FindPastReservation(product_id, reservation_id);
}

void Inventory::AddProduct(const std::string& product_id,
                           inventory::AddProduct command, CallContext context,
                           Done done) {
  Execute(product_id, std::move(context), "",
          DecideOnState(product_id, std::move(command)), std::move(done));
}

void Inventory::ReceiveStock(const std::string& product_id,
                             inventory::ReceiveStock command,
                             CallContext context, Done done) {
  Execute(product_id, std::move(context), "",
          DecideOnState(product_id, std::move(command)), std::move(done));
}

void Inventory::ReserveStock(const std::string& product_id,
                             inventory::ReserveStock command,
                             CallContext context, Done done) {
  if (command.ttl <= absl::ZeroDuration()) command.ttl = options_.default_ttl;
  std::string reservation_id = command.reservation_id;
  Execute(
      product_id, std::move(context), std::move(reservation_id),
      [this, product_id, command = std::move(command)](
          const Product& product,
          bool reused) -> absl::StatusOr<std::vector<Event>> {
        // A new id is the common case: history is consulted only once the
        // reservation_once index has said the id was used before.
        PastReservation past = PastReservation::kNone;
        if (reused) {
          absl::StatusOr<PastReservation> found =
              PastOf(product_id, command.reservation_id, product);
          if (!found.ok()) return found.status();
          past = *found;
        }
        return Decide(product_id, command, product, past, options_.clock());
      },
      std::move(done));
}

void Inventory::ExecuteOnPast(const std::string& product_id,
                              const std::string& reservation_id,
                              CallContext context, PastDecider decide,
                              Done done) {
  Execute(
      product_id, std::move(context), reservation_id,
      [this, product_id, reservation_id, decide = std::move(decide)](
          const Product& product,
          bool) mutable -> absl::StatusOr<std::vector<Event>> {
        absl::StatusOr<PastReservation> past =
            PastOf(product_id, reservation_id, product);
        if (!past.ok()) return past.status();
        return decide(product, *past);
      },
      std::move(done), /*reads_history=*/true);
}

void Inventory::ReleaseStock(const std::string& product_id,
                             const std::string& reservation_id,
                             CallContext context, Done done) {
  ExecuteOnPast(
      product_id, reservation_id, std::move(context),
      [product_id, reservation_id](const Product& product,
                                   PastReservation past) {
        return DecideRelease(product_id, reservation_id, product, past);
      },
      std::move(done));
}

void Inventory::CommitReservation(const std::string& product_id,
                                  const std::string& reservation_id,
                                  CallContext context, Done done) {
  ExecuteOnPast(
      product_id, reservation_id, std::move(context),
      [this, product_id, reservation_id](const Product& product,
                                         PastReservation past) {
        return DecideCommit(product_id, reservation_id, product, past,
                            options_.clock());
      },
      std::move(done));
}

absl::StatusOr<Outcome> Inventory::AddProduct(
    const std::string& product_id, const inventory::AddProduct& command,
    const CallContext& context) {
  return Await([&](Done done) {
    AddProduct(product_id, command, context, std::move(done));
  });
}

absl::StatusOr<Outcome> Inventory::ReserveStock(
    const std::string& product_id, const inventory::ReserveStock& command,
    const CallContext& context) {
  return Await([&](Done done) {
    ReserveStock(product_id, command, context, std::move(done));
  });
}

absl::StatusOr<Outcome> Inventory::ReleaseStock(
    const std::string& product_id, const std::string& reservation_id,
    const CallContext& context) {
  return Await([&](Done done) {
    ReleaseStock(product_id, reservation_id, context, std::move(done));
  });
}

absl::StatusOr<LoadedProduct> Inventory::GetStock(
    const std::string& product_id) {
  absl::StatusOr<LoadedProduct> loaded = store_->Load(product_id);
  if (loaded.ok() && loaded->version == 0) {
    return shop::MakeError(absl::StatusCode::kNotFound, kErrorDomain,
                           "PRODUCT_NOT_FOUND",
                           absl::StrCat("product ", product_id, " not found"),
                           {{"product_id", product_id}});
  }
  return loaded;
}

absl::StatusOr<std::vector<eventstore::RecordedEvent>> Inventory::ListEvents(
    const std::string& product_id, int64_t from_version, int max_count) {
  absl::StatusOr<std::vector<eventstore::RecordedEvent>> events =
      store_->ReadEvents(product_id, from_version, max_count);
  if (events.ok() && events->empty() && from_version <= 1) {
    // An empty history from the start means there is no such product.
    absl::StatusOr<LoadedProduct> exists = GetStock(product_id);
    if (!exists.ok()) return exists.status();
  }
  return events;
}

absl::StatusOr<int> Inventory::ExpireDue(int max_products) {
  absl::StatusOr<std::vector<std::string>> due =
      store_->ProductsDue(options_.clock(), max_products);
  if (!due.ok()) return due.status();
  CallContext context;
  context.metadata.caused_by = "inventory/expiry-sweep";
  int expired = 0;
  for (const std::string& product_id : *due) {
    absl::StatusOr<Outcome> outcome = Await([&](Done done) {
      Execute(
          product_id, context, "",
          [this](const Product& product, bool) {
            return absl::StatusOr<std::vector<Event>>(
                DecideExpire(product, options_.clock()));
          },
          std::move(done));
    });
    if (!outcome.ok()) {
      // Without the database the rest would fail the same way.
      if (absl::IsUnavailable(outcome.status())) return outcome.status();
      // One product that cannot be expired does not hold up the others.
      shop::LogJson("warn", absl::StrCat("expiry sweep: product ", product_id,
                                         ": ", outcome.status().ToString()));
      continue;
    }
    expired += static_cast<int>(outcome->events.size());
  }
  return expired;
}

}  // namespace inventory
