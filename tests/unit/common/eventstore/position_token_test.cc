#include "common/eventstore/position_token.h"

#include <cstdint>
#include <limits>

#include "absl/strings/escaping.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/status_matchers.h"

namespace eventstore {
namespace {

using ::shop::testing::StatusIs;

// A token reads back as the position it was made from, extremes included.
TEST(PositionTokenTest, RoundTrips) {
  for (const GlobalPosition& position :
       {GlobalPosition{0, 0}, GlobalPosition{735, 42},
        GlobalPosition{std::numeric_limits<uint64_t>::max(),
                       std::numeric_limits<int64_t>::max()}}) {
    absl::StatusOr<GlobalPosition> parsed =
        ParsePositionToken(EncodePositionToken(position), "page_token");
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    EXPECT_EQ(*parsed, position);
  }
}

// The token does not show the position as plain text.
TEST(PositionTokenTest, IsOpaque) {
  EXPECT_EQ(EncodePositionToken({735, 42}).find("735"), std::string::npos);
}

// Anything the encoder did not make is INVALID_ARGUMENT naming the field.
TEST(PositionTokenTest, RefusesGarbage) {
  for (const std::string& garbage :
       {std::string("x"), std::string("!!!"), std::string("735:42"),
        absl::WebSafeBase64Escape("p1:735"),
        absl::WebSafeBase64Escape("p2:735:42"),
        absl::WebSafeBase64Escape("p1:735:-1"),
        absl::WebSafeBase64Escape("p1:+735:42"),
        absl::WebSafeBase64Escape("p1:735:42:1"),
        absl::WebSafeBase64Escape("p1:abc:42"), std::string(200, 'A')}) {
    absl::StatusOr<GlobalPosition> parsed =
        ParsePositionToken(garbage, "page_token");
    EXPECT_THAT(parsed,
                StatusIs(absl::StatusCode::kInvalidArgument, "INVALID_FIELD"))
        << garbage;
    if (!parsed.ok()) {
      EXPECT_THAT(parsed.status().message(),
                  ::testing::HasSubstr("page_token"));
    }
  }
}

}  // namespace
}  // namespace eventstore
