#include "common/eventstore/event_store.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace eventstore {
namespace {

using ::testing::ElementsAre;

TEST(ParseSnapshotTest, ReadsPostgresTextForm) {
  CommitHorizon horizon;
  ASSERT_TRUE(ParseSnapshot("740:752:741,745", &horizon));
  EXPECT_EQ(horizon.xmin, 740u);
  EXPECT_EQ(horizon.xmax, 752u);
  EXPECT_THAT(horizon.running, ElementsAre(741u, 745u));
  ASSERT_TRUE(ParseSnapshot("9:9:", &horizon));
  EXPECT_TRUE(horizon.running.empty());
  for (const char* bad : {"", "9:9", "a:9:", "9:9:x", "1:2:3:4"}) {
    EXPECT_FALSE(ParseSnapshot(bad, &horizon)) << bad;
  }
}

TEST(CommitHorizonTest, CommittedAreBelowXminOrBelowXmaxAndNotRunning) {
  CommitHorizon horizon;
  ASSERT_TRUE(ParseSnapshot("740:752:741,745", &horizon));
  EXPECT_TRUE(horizon.Committed(739));
  EXPECT_TRUE(horizon.Committed(740));
  EXPECT_FALSE(horizon.Committed(741));
  EXPECT_TRUE(horizon.Committed(742));
  EXPECT_FALSE(horizon.Committed(745));
  EXPECT_TRUE(horizon.Committed(751));
  EXPECT_FALSE(horizon.Committed(752));
  EXPECT_FALSE(horizon.Committed(900));
}

}  // namespace
}  // namespace eventstore
