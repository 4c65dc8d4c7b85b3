#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/btree_map.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/eventstore/event_store.h"
#include "common/turns/turn_queue.h"
#include "services/inventory/domain/commands.h"
#include "services/inventory/domain/product.h"

// A command on one product as its turn runs it: a pure decision plus what
// that decision needs loaded first.
namespace inventory {

using CallContext = eventstore::CommandContext;

// A command's result: the product's figures after it, and what it appended.
struct Outcome {
  int64_t version = 0;
  // Of the append that wrote `events` (none for a repeat).
  std::optional<eventstore::GlobalPosition> position;
  std::vector<Event> events;  // empty when the command was a repeat
  // For a repeat recognised in history: the event the first call wrote.
  Past repeat_of;
  int64_t price_cents = 0;
  int64_t on_hand = 0;
  int64_t available = 0;
  // Every warehouse's figures after the command.
  absl::btree_map<std::string, WarehouseStock> warehouses;
  // The reservation the command named, when it is live afterwards.
  std::optional<Reservation> reservation;

  WarehouseStock At(const std::string& warehouse_id) const {
    auto it = warehouses.find(warehouse_id);
    return it == warehouses.end() ? WarehouseStock{} : it->second;
  }
  // The first event of type T the command wrote, or else the first call's.
  template <typename T>
  const T* Written() const {
    for (const Event& event : events) {
      if (const T* found = std::get_if<T>(&event)) return found;
    }
    return repeat_of.has_value() ? std::get_if<T>(&repeat_of->event) : nullptr;
  }
};

// Receives a command's answer.
using Done = absl::AnyInvocable<void(absl::StatusOr<Outcome>) &&>;

// A pure decision: no I/O, everything it reads is in its arguments.
using DecideFn = absl::AnyInvocable<absl::StatusOr<std::vector<Event>>(
    const Product& product, const Facts& facts)>;

struct Command final : shop::TurnQueue<Product>::Waiter {
  Command(CallContext context, HistoryNeed history, std::string reservation_id,
          DecideFn decide, Done done)
      : context(std::move(context)),
        history(std::move(history)),
        reservation_id(std::move(reservation_id)),
        decide(std::move(decide)),
        done(std::move(done)) {
    combinable = !this->context.expected_version.has_value();
  }

  // Whether deciding must first ask history about the command's id: once a
  // unique index showed that the id was used before, or whenever the
  // command always needs it and the state does not show the id.
  bool NeedsPast(const Product& product) const {
    if (!history.key.has_value() || !product.exists) return false;
    return reused || (history.always && !product.Shows(*history.key));
  }

  const CallContext context;
  const HistoryNeed history;
  // The reservation the outcome reports, if any.
  const std::string reservation_id;
  DecideFn decide;
  Done done;

  // Set by the turn that runs it.
  bool reused = false;
  bool answered = false;
  absl::StatusOr<Outcome> result = absl::InternalError("command not run");
};

}  // namespace inventory
