// The retry policy of a command whose append lost a race.
#include "common/errors/errors.h"
#include "common/eventstore/event_store.h"
#include "gtest/gtest.h"

namespace eventstore {
namespace {

absl::Status Conflict() {
  return WrongExpectedVersionError("s", ExpectedVersion::Exactly(1), 2);
}

// An unpinned conflict is retried until `max_attempts` attempts in all,
// then answered as exhausted with that count.
TEST(AppendRetryTest, RetriesUnpinnedConflictsUpToTheLimit) {
  AppendRetry retry(3);
  const CommandContext unpinned;
  EXPECT_TRUE(retry.Again(Conflict(), unpinned));
  EXPECT_TRUE(retry.Again(Conflict(), unpinned));
  EXPECT_FALSE(retry.Again(Conflict(), unpinned));
  EXPECT_EQ(retry.attempts(), 3);
  const absl::Status answer = retry.Answer(Conflict(), "test.v1", "s");
  EXPECT_EQ(answer.code(), absl::StatusCode::kAborted);
  EXPECT_EQ(shop::ReasonOf(answer), "CONCURRENCY_CONFLICT");
}

// A pinned expectation, or another error, is the answer at once.
TEST(AppendRetryTest, PinnedOrOtherErrorsAreTheAnswer) {
  AppendRetry retry(3);
  CommandContext pinned;
  pinned.expected_version = 1;
  EXPECT_FALSE(retry.Again(Conflict(), pinned));
  const absl::Status answer = retry.Answer(Conflict(), "test.v1", "s");
  EXPECT_EQ(shop::ReasonOf(answer), shop::ReasonOf(Conflict()));
  EXPECT_FALSE(retry.Again(absl::UnavailableError("down"), CommandContext{}));
  EXPECT_EQ(retry.attempts(), 1);
}

// Attempts spent without a conflict count against the same limit.
TEST(AppendRetryTest, SpentAttemptsShareTheLimit) {
  AppendRetry retry(3);
  EXPECT_TRUE(retry.Spend());
  EXPECT_TRUE(retry.Again(Conflict(), CommandContext{}));
  EXPECT_FALSE(retry.Spend());
  EXPECT_EQ(retry.attempts(), 3);
  EXPECT_EQ(shop::ReasonOf(retry.Answer(absl::OkStatus(), "test.v1", "s")),
            "CONCURRENCY_CONFLICT");
}

}  // namespace
}  // namespace eventstore
