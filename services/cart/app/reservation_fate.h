#pragma once

#include "absl/status/status.h"

namespace cart {

// The steps of an inventory-first flow that decide a reservation's fate.
enum class Step {
  kReserve,       // inventory was asked to hold the units
  kAppendAdd,     // the cart was asked to show the reserved line
  kAppendRemove,  // the cart was asked to stop showing the line
  kCommit,        // inventory was asked to sell the reserved units
};

// What happens to the reservation after a step.
enum class Fate {
  kNothingHeld,    // inventory holds nothing for it
  kKeep,           // it stays: the cart shows it, or a retry may claim it
  kRelease,        // give it back now: no cart shows it, none ever will
  kReleaseIfGone,  // give it back if a fresh load shows the line gone
};

// The one rule for a reservation after `step` ended with `result`;
// `claimable` says whether a retry of the call (same request id) would
// claim the same reservation. Pure.
Fate FateAfter(Step step, const absl::Status& result, bool claimable);

const char* FateName(Fate fate);

}  // namespace cart
