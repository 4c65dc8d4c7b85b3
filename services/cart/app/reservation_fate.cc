// Owns the rule that decides a reservation's fate after each step.
#include "services/cart/app/reservation_fate.h"

#include "common/errors/errors.h"

namespace cart {

Fate FateAfter(Step step, const absl::Status& result, bool claimable) {
  const bool unknown = !result.ok() && shop::OutcomeUnknown(result);
  switch (step) {
    case Step::kReserve:
      if (result.ok()) return Fate::kKeep;
      if (!unknown) return Fate::kNothingHeld;
      // Inventory may have reserved after all: a retry claims it by id, but
      // with no request id no retry ever will.
      return claimable ? Fate::kKeep : Fate::kRelease;
    case Step::kAppendAdd:
      if (result.ok()) return Fate::kKeep;
      // A lost answer may hide a line that is in the cart.
      return unknown ? Fate::kKeep : Fate::kRelease;
    case Step::kAppendRemove:
      if (result.ok()) return Fate::kRelease;
      return unknown ? Fate::kReleaseIfGone : Fate::kKeep;
    case Step::kCommit:
      // Sold, refused or unknown: the cart still shows the line, and a
      // retried checkout commits it again (idempotent in inventory).
      return Fate::kKeep;
  }
  return Fate::kKeep;
}

const char* FateName(Fate fate) {
  switch (fate) {
    case Fate::kNothingHeld:
      return "nothing held";
    case Fate::kKeep:
      return "keep";
    case Fate::kRelease:
      return "release";
    case Fate::kReleaseIfGone:
      return "release if gone";
  }
  return "?";
}

}  // namespace cart
