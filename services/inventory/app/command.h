#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/eventstore/event_store.h"
#include "common/turns/turn_queue.h"
#include "services/inventory/domain/product.h"

// A command on one product as its turn runs it: a pure decision plus what
// that decision needs loaded first.
namespace inventory {

using CallContext = eventstore::CommandContext;

// A command's result: the product's figures after it, and what it appended.
struct Outcome {
  int64_t version = 0;
  std::vector<Event> events;  // empty when the command was a repeat
  int64_t price_cents = 0;
  int64_t on_hand = 0;
  int64_t available = 0;
  // The reservation the command named, when it is live afterwards.
  std::optional<Reservation> reservation;
};

// Receives a command's answer.
using Done = absl::AnyInvocable<void(absl::StatusOr<Outcome>) &&>;

// What a decision may know besides the product, loaded before it runs.
struct Facts {
  // How the command's reservation ended, when it needs that and the
  // reservation is not live; kNone otherwise.
  PastReservation past = PastReservation::kNone;
  absl::Time now;
};

// A pure decision: no I/O, everything it reads is in its arguments.
using DecideFn = absl::AnyInvocable<absl::StatusOr<std::vector<Event>>(
    const Product& product, const Facts& facts)>;

struct Command final : shop::TurnQueue<Product>::Waiter {
  Command(CallContext context, std::string reservation_id, bool needs_past,
          DecideFn decide, Done done)
      : context(std::move(context)),
        reservation_id(std::move(reservation_id)),
        needs_past(needs_past),
        decide(std::move(decide)),
        done(std::move(done)) {
    combinable = !this->context.expected_version.has_value();
  }

  // Whether deciding must know how `reservation_id` ended: always for a
  // command that says so, and for any command once a unique index showed
  // that its reservation id was used before.
  bool NeedsPast() const { return needs_past || reused; }

  const CallContext context;
  // The reservation the outcome reports, if any.
  const std::string reservation_id;
  const bool needs_past;
  DecideFn decide;
  Done done;

  // Set by the turn that runs it.
  bool reused = false;
  bool answered = false;
  absl::StatusOr<Outcome> result = absl::InternalError("command not run");
};

}  // namespace inventory
