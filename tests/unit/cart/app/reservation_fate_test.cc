#include "services/cart/app/reservation_fate.h"

#include "absl/status/status.h"
#include "gtest/gtest.h"

namespace cart {
namespace {

const absl::Status kRefused = absl::FailedPreconditionError("insufficient");
const absl::Status kLost = absl::UnavailableError("answer lost");
const absl::Status kTimedOut = absl::DeadlineExceededError("caller gave up");

// A reservation inventory refused holds nothing, claimable or not.
TEST(ReservationFateTest, RefusedReserveHoldsNothing) {
  EXPECT_EQ(FateAfter(Step::kReserve, kRefused, false), Fate::kNothingHeld);
  EXPECT_EQ(FateAfter(Step::kReserve, kRefused, true), Fate::kNothingHeld);
}

// A reserve with an unknown outcome and a request id is kept: a retry of
// the call claims it under the same id.
TEST(ReservationFateTest, UnknownClaimableReserveIsKept) {
  EXPECT_EQ(FateAfter(Step::kReserve, kLost, true), Fate::kKeep);
  EXPECT_EQ(FateAfter(Step::kReserve, kTimedOut, true), Fate::kKeep);
}

// Without a request id no retry claims it: released at once.
TEST(ReservationFateTest, UnknownUnclaimableReserveIsReleased) {
  EXPECT_EQ(FateAfter(Step::kReserve, kLost, false), Fate::kRelease);
  EXPECT_EQ(FateAfter(Step::kReserve, kTimedOut, false), Fate::kRelease);
}

// A reservation the cart then shows is kept.
TEST(ReservationFateTest, ReservedAndAppendedIsKept) {
  EXPECT_EQ(FateAfter(Step::kReserve, absl::OkStatus(), false), Fate::kKeep);
  EXPECT_EQ(FateAfter(Step::kAppendAdd, absl::OkStatus(), false), Fate::kKeep);
}

// The cart refused the line for sure: no cart shows the units, release.
TEST(ReservationFateTest, DefinitelyRefusedAppendReleases) {
  EXPECT_EQ(FateAfter(Step::kAppendAdd, kRefused, false), Fate::kRelease);
  EXPECT_EQ(FateAfter(Step::kAppendAdd, kRefused, true), Fate::kRelease);
  EXPECT_EQ(FateAfter(Step::kAppendAdd, absl::AbortedError("conflicts"), true),
            Fate::kRelease);
}

// The append's answer was lost: the line may be in the cart, keep it.
TEST(ReservationFateTest, AppendWithUnknownOutcomeKeeps) {
  EXPECT_EQ(FateAfter(Step::kAppendAdd, kLost, false), Fate::kKeep);
  EXPECT_EQ(FateAfter(Step::kAppendAdd, kLost, true), Fate::kKeep);
}

// A removal released after it lands; kept if refused; a lost answer is
// resolved on a fresh load.
TEST(ReservationFateTest, RemovalReleasesOnlyWhenTheLineIsGone) {
  EXPECT_EQ(FateAfter(Step::kAppendRemove, absl::OkStatus(), false),
            Fate::kRelease);
  EXPECT_EQ(FateAfter(Step::kAppendRemove, kRefused, false), Fate::kKeep);
  EXPECT_EQ(FateAfter(Step::kAppendRemove, kLost, false), Fate::kReleaseIfGone);
}

// A commit never releases: the cart shows the line, sold or not.
TEST(ReservationFateTest, CommitKeeps) {
  EXPECT_EQ(FateAfter(Step::kCommit, absl::OkStatus(), false), Fate::kKeep);
  EXPECT_EQ(FateAfter(Step::kCommit, kRefused, false), Fate::kKeep);
  EXPECT_EQ(FateAfter(Step::kCommit, kLost, false), Fate::kKeep);
}

}  // namespace
}  // namespace cart
