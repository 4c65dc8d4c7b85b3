#include "common/eventstore/uuid.h"

#include <string>

#include "absl/container/flat_hash_set.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"

namespace eventstore {
namespace {

// Ids are canonical version-7 UUIDs with the RFC 9562 variant, all distinct.
TEST(NewUuidTest, IsCanonicalVersion7) {
  absl::flat_hash_set<std::string> seen;
  for (int i = 0; i < 10000; ++i) {
    const std::string id = NewUuid();
    ASSERT_TRUE(IsUuid(id)) << id;
    EXPECT_EQ(id[14], '7') << id;
    EXPECT_NE(std::string("89ab").find(id[19]), std::string::npos) << id;
    EXPECT_TRUE(seen.insert(id).second) << id;
  }
}

// An id made in a later millisecond sorts after an earlier one, as text
// and so as PostgreSQL's uuid.
TEST(NewUuidTest, LaterIdsSortLater) {
  const std::string first = NewUuid();
  absl::SleepFor(absl::Milliseconds(2));
  const std::string second = NewUuid();
  EXPECT_LT(first, second);
}

TEST(IsUuidTest, RefusesNonCanonicalText) {
  EXPECT_TRUE(IsUuid("0190a1b2-c3d4-7e5f-8a6b-7c8d9e0f1a2b"));
  EXPECT_FALSE(IsUuid("0190a1b2c3d47e5f8a6b7c8d9e0f1a2b"));
  EXPECT_FALSE(IsUuid("0190a1b2-c3d4-7e5f-8a6b-7c8d9e0f1a2"));
  EXPECT_FALSE(IsUuid("0190a1b2-c3d4-7e5f-8a6b-7c8d9e0f1a2g"));
  EXPECT_FALSE(IsUuid("not-a-uuid"));
}

}  // namespace
}  // namespace eventstore
