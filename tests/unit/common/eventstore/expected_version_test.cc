#include "common/eventstore/expected_version.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace eventstore {
namespace {

// Each kind accepts exactly the versions the design says it does.
TEST(ExpectedVersionTest, AcceptsMatchesEachKind) {
  EXPECT_TRUE(ExpectedVersion::Any().Accepts(0));
  EXPECT_TRUE(ExpectedVersion::Any().Accepts(7));
  EXPECT_TRUE(ExpectedVersion::NoStream().Accepts(0));
  EXPECT_FALSE(ExpectedVersion::NoStream().Accepts(1));
  EXPECT_FALSE(ExpectedVersion::StreamExists().Accepts(0));
  EXPECT_TRUE(ExpectedVersion::StreamExists().Accepts(3));
  EXPECT_TRUE(ExpectedVersion::Exactly(3).Accepts(3));
  EXPECT_FALSE(ExpectedVersion::Exactly(3).Accepts(4));
  EXPECT_EQ(ExpectedVersion::Exactly(0), ExpectedVersion::NoStream());
}

// The wrong-expected-version error keeps its facts through the Status.
TEST(ExpectedVersionTest, WrongExpectedVersionRoundTrips) {
  absl::Status status =
      WrongExpectedVersionError("product-1", ExpectedVersion::Exactly(2), 5);
  EXPECT_EQ(status.code(), absl::StatusCode::kAborted);
  EXPECT_THAT(status.message(), testing::HasSubstr("expected 2, actual 5"));
  std::optional<WrongExpectedVersion> typed = AsWrongExpectedVersion(status);
  ASSERT_TRUE(typed.has_value());
  EXPECT_EQ(typed->stream, "product-1");
  EXPECT_EQ(typed->expected, "2");
  EXPECT_EQ(typed->actual, 5);
  EXPECT_FALSE(AsWrongExpectedVersion(absl::AbortedError("other")).has_value());
}

}  // namespace
}  // namespace eventstore
