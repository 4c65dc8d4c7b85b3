#include "services/inventory/app/inventory.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/errors/errors.h"

namespace inventory {

namespace {

// Commands of one product decided together and written in one append.
constexpr size_t kMaxBatch = 64;

}  // namespace

struct Inventory::Command final : eventstore::StripedStates<Product>::Waiter {
  Command(const CallContext& context, const std::string& reservation_id,
          Decider decide, absl::FunctionRef<void()> on_unique_violation)
      : context(context),
        reservation_id(reservation_id),
        decide(decide),
        on_unique_violation(on_unique_violation) {
    combinable = !context.expected_version.has_value();
  }

  const CallContext& context;
  const std::string& reservation_id;
  Decider decide;
  absl::FunctionRef<void()> on_unique_violation;
  bool answered = false;
  absl::StatusOr<Outcome> result = absl::InternalError("command not run");
};

Inventory::Inventory(ProductStore* store, InventoryOptions options)
    : store_(store), options_(std::move(options)) {}

absl::StatusOr<Outcome> Inventory::Execute(
    const std::string& product_id, const CallContext& context,
    const std::string& reservation_id, Decider decide,
    absl::FunctionRef<void()> on_unique_violation) {
  Command command(context, reservation_id, decide, on_unique_violation);
  products_.Combine<Command>(
      product_id, &command, kMaxBatch,
      [&](std::optional<Cached> cached, std::vector<Command*> batch) {
        // A batch whose events outgrow one append is written in turns.
        while (!batch.empty()) {
          cached = RunBatch(product_id, std::move(cached), batch);
          std::erase_if(batch, [](const Command* c) { return c->answered; });
        }
        return cached;
      });
  return std::move(command.result);
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
  for (int attempt = 1; attempt <= options_.max_attempts; ++attempt) {
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
    std::vector<eventstore::EventData> data;
    size_t decided = 0;
    for (Command* command : batch) {
      // Leave room for the largest decision; the rest go in the next turn.
      if (decided > 0 && data.size() + kMaxExpiriesPerDecision + 1 >
                             eventstore::EventStore::kMaxEventsPerAppend) {
        break;
      }
      ++decided;
      const int64_t version =
          loaded_version + static_cast<int64_t>(data.size());
      const std::optional<int64_t>& expected =
          command->context.expected_version;
      if (expected.has_value() && *expected != version) {
        command->result = eventstore::WrongExpectedVersionError(
            StreamOf(product_id),
            eventstore::ExpectedVersion::Exactly(*expected), version);
        continue;
      }
      absl::StatusOr<std::vector<Event>> events = command->decide(state.state);
      if (!events.ok()) {
        command->result = events.status();
        continue;
      }
      for (const Event& event : *events) {
        state.state = Evolve(std::move(state.state), event);
      }
      std::vector<eventstore::EventData> written =
          EventDataOf(*events, command->context.metadata);
      data.insert(data.end(), std::make_move_iterator(written.begin()),
                  std::make_move_iterator(written.end()));
      Outcome outcome{version + static_cast<int64_t>(events->size()),
                      *std::move(events), state.state.price_cents,
                      state.state.on_hand, state.state.available()};
      if (auto live = state.state.reservations().find(command->reservation_id);
          live != state.state.reservations().end()) {
        outcome.reservation = live->second;
      }
      command->result = std::move(outcome);
    }
    const std::vector<Command*> answered(batch.begin(),
                                         batch.begin() + decided);
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
        answered[0]->on_unique_violation();
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
    eventstore::BackoffBeforeRetry(attempt + 1);
  }
  return answer_all(eventstore::ConflictsExhausted(
      kErrorDomain, StreamOf(product_id), options_.max_attempts));
}

absl::StatusOr<PastReservation> Inventory::PastOf(
    const std::string& product_id, const std::string& reservation_id,
    const Product& product) {
  if (!product.exists || product.reservations().contains(reservation_id)) {
    return PastReservation::kNone;
  }
  return store_->FindPastReservation(product_id, reservation_id);
}

absl::StatusOr<Outcome> Inventory::AddProduct(
    const std::string& product_id, const inventory::AddProduct& command,
    const CallContext& context) {
  return Execute(product_id, context, "", [&](const Product& product) {
    return Decide(product_id, command, product);
  });
}

absl::StatusOr<Outcome> Inventory::ReceiveStock(
    const std::string& product_id, const inventory::ReceiveStock& command,
    const CallContext& context) {
  return Execute(product_id, context, "", [&](const Product& product) {
    return Decide(product_id, command, product);
  });
}

absl::StatusOr<Outcome> Inventory::ReserveStock(const std::string& product_id,
                                                inventory::ReserveStock command,
                                                const CallContext& context) {
  if (command.ttl <= absl::ZeroDuration()) command.ttl = options_.default_ttl;
  // A new id is the common case: history is consulted only once the
  // reservation_once index has said the id was used before.
  bool id_used_before = false;
  return Execute(
      product_id, context, command.reservation_id,
      [&](const Product& product) -> absl::StatusOr<std::vector<Event>> {
        PastReservation past = PastReservation::kNone;
        if (id_used_before) {
          absl::StatusOr<PastReservation> found =
              PastOf(product_id, command.reservation_id, product);
          if (!found.ok()) return found.status();
          past = *found;
        }
        return Decide(product_id, command, product, past, options_.clock());
      },
      [&] { id_used_before = true; });
}

absl::StatusOr<Outcome> Inventory::ReleaseStock(
    const std::string& product_id, const std::string& reservation_id,
    const CallContext& context) {
  return Execute(
      product_id, context, reservation_id,
      [&](const Product& product) -> absl::StatusOr<std::vector<Event>> {
        absl::StatusOr<PastReservation> past =
            PastOf(product_id, reservation_id, product);
        if (!past.ok()) return past.status();
        return DecideRelease(product_id, reservation_id, product, *past);
      });
}

absl::StatusOr<Outcome> Inventory::CommitReservation(
    const std::string& product_id, const std::string& reservation_id,
    const CallContext& context) {
  return Execute(
      product_id, context, reservation_id,
      [&](const Product& product) -> absl::StatusOr<std::vector<Event>> {
        absl::StatusOr<PastReservation> past =
            PastOf(product_id, reservation_id, product);
        if (!past.ok()) return past.status();
        return DecideCommit(product_id, reservation_id, product, *past,
                            options_.clock());
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
    absl::StatusOr<Outcome> outcome =
        Execute(product_id, context, "", [&](const Product& product) {
          return absl::StatusOr<std::vector<Event>>(
              DecideExpire(product, options_.clock()));
        });
    if (!outcome.ok()) return outcome.status();
    expired += static_cast<int>(outcome->events.size());
  }
  return expired;
}

}  // namespace inventory
