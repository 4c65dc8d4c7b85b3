// Owns the rule by which one product's queued commands share an append:
// in order, each on the state the ones before it left.
#include "services/inventory/app/batch_decision.h"

#include <iterator>
#include <utility>
#include <variant>

#include "absl/container/flat_hash_set.h"
#include "services/inventory/store/product_store.h"

namespace inventory {
BatchDecision DecideBatch(const std::string& product_id, CachedProduct& state,
                          const Batch& batch, const Pasts& pasts,
                          absl::Time now, size_t max_commands) {
  const int64_t loaded_version = state.version;
  BatchDecision decision;
  // Ids this batch wrote events for: history does not show them until the
  // batch is written.
  absl::flat_hash_set<HistoryKey> written_keys;
  for (const std::unique_ptr<Command>& command : batch) {
    if (decision.decided == max_commands) break;
    // Leave room for the largest decision; the rest go in the next append.
    if (decision.decided > 0 &&
        decision.events.size() + kMaxExpiriesPerDecision + 1 >
            eventstore::EventStore::kMaxEventsPerAppend) {
      break;
    }
    Facts facts{.past = std::nullopt, .now = now};
    const int64_t version =
        loaded_version + static_cast<int64_t>(decision.events.size());
    absl::StatusOr<std::vector<Event>> events;
    bool waits = false;
    for (;;) {
      const bool looks = command->NeedsPast(state.state);
      if (looks) {
        const HistoryKey& key = *command->history.key;
        if (written_keys.contains(key)) {
          decision.waits_for_write = true;
          waits = true;
          break;
        }
        auto past = pasts.find(key);
        if (past == pasts.end()) {
          decision.needs_past = key;
          waits = true;
          break;
        }
        facts.past = past->second;
      }
      const std::optional<int64_t>& expected =
          command->context.expected_version;
      if (expected.has_value() && *expected != version) {
        events = eventstore::WrongExpectedVersionError(
            StreamOf(product_id),
            eventstore::ExpectedVersion::Exactly(*expected), version);
        break;
      }
      events = command->decide(state.state, facts);
      // A refusal may be a repeat whose effect the state already shows.
      if (!looks && !command->reused && !events.ok() &&
          command->history.confirm_refusals &&
          absl::IsFailedPrecondition(events.status())) {
        command->reused = true;
        continue;
      }
      break;
    }
    if (waits) break;
    ++decision.decided;
    if (!events.ok()) {
      command->result = events.status();
      continue;
    }
    for (const Event& event : *events) {
      state.state = Evolve(std::move(state.state), event);
      for (HistoryKey& key : KeysOf(event)) written_keys.insert(std::move(key));
    }
    std::vector<eventstore::EventData> written =
        EventDataOf(*events, command->context.metadata);
    decision.events.insert(decision.events.end(),
                           std::make_move_iterator(written.begin()),
                           std::make_move_iterator(written.end()));
    Outcome outcome{.version = version + static_cast<int64_t>(events->size()),
                    .events = *std::move(events),
                    .repeat_of = std::nullopt,
                    .price_cents = state.state.price_cents,
                    .on_hand = state.state.on_hand(),
                    .available = state.state.available(),
                    .warehouses = state.state.warehouses(),
                    .reservation = std::nullopt};
    if (outcome.events.empty()) outcome.repeat_of = std::move(facts.past);
    if (auto live = state.state.reservations().find(command->reservation_id);
        live != state.state.reservations().end()) {
      outcome.reservation = live->second;
    }
    command->result = std::move(outcome);
  }
  return decision;
}

}  // namespace inventory
