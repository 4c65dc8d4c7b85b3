// The atomic append to several streams: all or nothing, each stream with
// its own expectation, retries are duplicates, racing appends settle once.
#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/eventstore/event_store.h"
#include "common/eventstore/migrations.h"
#include "common/eventstore/uuid.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/status_matchers.h"
#include "tests/support/test_database.h"

namespace eventstore {
namespace {

using ::shop::testing::StatusIs;
using ::shop::testing::TestDsn;
using ::shop::testing::TestSchema;

EventData Event(const std::string& type = "thing.happened") {
  return EventData{NewUuid(), type, R"({"n":1})", "{}"};
}

class MultiAppendTest : public ::testing::Test {
 protected:
  void SetUp() override {
    pool_ = std::make_unique<ConnectionPool>(
        PoolOptions{.dsn = TestDsn(), .size = 8});
    ASSERT_TRUE(Migrate(*pool_, schema_.name(), {}).ok());
    store_ = std::make_unique<EventStore>(pool_.get(), schema_.name());
  }

  int64_t VersionOf(const std::string& stream) {
    absl::StatusOr<StreamHead> head = store_->ReadHead(stream);
    EXPECT_TRUE(head.ok()) << head.status();
    return head.ok() ? head->version : -1;
  }

  TestSchema schema_{"es_multi"};
  std::unique_ptr<ConnectionPool> pool_;
  std::unique_ptr<EventStore> store_;
};

// Both streams are written in one transaction, with their snapshots.
TEST_F(MultiAppendTest, WritesEveryStreamInOneTransaction) {
  ASSERT_TRUE(
      store_->Append("cart-1", ExpectedVersion::NoStream(), {Event()}).ok());
  absl::StatusOr<std::vector<AppendResult>> written =
      store_->AppendMany({{"cart-1",
                           ExpectedVersion::Exactly(1),
                           {Event("cart.checked_out")},
                           SnapshotWrite{R"({"done":true})", std::nullopt}},
                          {"order-1",
                           ExpectedVersion::NoStream(),
                           {Event("order.placed")},
                           std::nullopt}});
  ASSERT_TRUE(written.ok()) << written.status();
  ASSERT_EQ(written->size(), 2u);
  EXPECT_EQ((*written)[0].version, 2);
  EXPECT_EQ((*written)[1].version, 1);
  EXPECT_EQ((*written)[0].position.transaction_id,
            (*written)[1].position.transaction_id);
  absl::StatusOr<StreamHead> cart = store_->ReadHead("cart-1");
  ASSERT_TRUE(cart.ok());
  EXPECT_EQ(cart->snapshot_json, R"({"done": true})");
  EXPECT_EQ(cart->snapshot_version, 2);
}

// A conflict on either stream writes neither, and says which stream.
TEST_F(MultiAppendTest, AConflictOnEitherStreamWritesNeither) {
  ASSERT_TRUE(store_->Append("a", ExpectedVersion::NoStream(), {Event()}).ok());
  ASSERT_TRUE(store_->Append("b", ExpectedVersion::NoStream(), {Event()}).ok());
  // The stale stream sorts first, then last: both orders are refused whole.
  for (const auto& [stale, fresh] :
       std::vector<std::pair<std::string, std::string>>{{"a", "b"},
                                                        {"b", "a"}}) {
    absl::StatusOr<std::vector<AppendResult>> refused = store_->AppendMany(
        {{fresh, ExpectedVersion::Exactly(1), {Event()}, std::nullopt},
         {stale, ExpectedVersion::Exactly(7), {Event()}, std::nullopt}});
    EXPECT_THAT(refused,
                StatusIs(absl::StatusCode::kAborted, "WRONG_EXPECTED_VERSION"));
    std::optional<WrongExpectedVersion> wrong =
        AsWrongExpectedVersion(refused.status());
    ASSERT_TRUE(wrong.has_value()) << refused.status();
    EXPECT_EQ(wrong->stream, stale);
    EXPECT_EQ(wrong->actual, 1);
    EXPECT_EQ(VersionOf("a"), 1);
    EXPECT_EQ(VersionOf("b"), 1);
  }
  // An order stream that already exists refuses the cart's part too.
  absl::StatusOr<std::vector<AppendResult>> taken = store_->AppendMany(
      {{"a", ExpectedVersion::Exactly(1), {Event()}, std::nullopt},
       {"b", ExpectedVersion::NoStream(), {Event()}, std::nullopt}});
  EXPECT_THAT(taken, StatusIs(absl::StatusCode::kAborted));
  EXPECT_EQ(VersionOf("a"), 1);
}

// The same append again (same event ids) after it committed: a duplicate
// on every stream, nothing written twice.
TEST_F(MultiAppendTest, ARetryIsADuplicateOnEveryStream) {
  const std::vector<StreamAppend> appends = {
      {"x", ExpectedVersion::NoStream(), {Event(), Event()}, std::nullopt},
      {"y", ExpectedVersion::NoStream(), {Event()}, std::nullopt}};
  absl::StatusOr<std::vector<AppendResult>> first = store_->AppendMany(appends);
  ASSERT_TRUE(first.ok()) << first.status();
  absl::StatusOr<std::vector<AppendResult>> again = store_->AppendMany(appends);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_TRUE((*again)[0].duplicate);
  EXPECT_TRUE((*again)[1].duplicate);
  EXPECT_EQ((*again)[0].version, 2);
  EXPECT_EQ((*again)[1].version, 1);
  EXPECT_EQ(VersionOf("x"), 2);
  EXPECT_EQ(VersionOf("y"), 1);
}

// Many appends race for one stream, each with its own second stream:
// exactly one wins, and only the winner's second stream exists.
TEST_F(MultiAppendTest, RacingAppendsHaveOneWinner) {
  ASSERT_TRUE(
      store_->Append("shared", ExpectedVersion::NoStream(), {Event()}).ok());
  constexpr int kRacers = 8;
  std::atomic<int> winners = 0;
  std::vector<std::thread> racers;
  for (int i = 0; i < kRacers; ++i) {
    racers.emplace_back([&, i] {
      absl::StatusOr<std::vector<AppendResult>> result = store_->AppendMany(
          {{"shared", ExpectedVersion::Exactly(1), {Event()}, std::nullopt},
           {absl::StrCat("own-", i),
            ExpectedVersion::NoStream(),
            {Event()},
            std::nullopt}});
      if (result.ok()) {
        ++winners;
      } else {
        EXPECT_EQ(result.status().code(), absl::StatusCode::kAborted)
            << result.status();
      }
    });
  }
  for (std::thread& racer : racers) racer.join();
  EXPECT_EQ(winners.load(), 1);
  EXPECT_EQ(VersionOf("shared"), 2);
  int own_streams = 0;
  for (int i = 0; i < kRacers; ++i) {
    own_streams += VersionOf(absl::StrCat("own-", i)) == 1 ? 1 : 0;
  }
  EXPECT_EQ(own_streams, 1);
}

// Bad input is refused before anything is written.
TEST_F(MultiAppendTest, BadInputWritesNothing) {
  EXPECT_THAT(store_->AppendMany({}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(store_->AppendMany(
                  {{"s", ExpectedVersion::Any(), {Event()}, std::nullopt},
                   {"s", ExpectedVersion::Any(), {Event()}, std::nullopt}}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  const EventData same = Event();
  EXPECT_THAT(
      store_->AppendMany({{"s", ExpectedVersion::Any(), {same}, std::nullopt},
                          {"t", ExpectedVersion::Any(), {same}, std::nullopt}}),
      StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(store_->AppendMany(
                  {{"s", ExpectedVersion::Any(), {Event()}, std::nullopt},
                   {"t", ExpectedVersion::Any(), {}, std::nullopt}}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_EQ(VersionOf("s"), 0);
  EXPECT_EQ(VersionOf("t"), 0);
}

}  // namespace
}  // namespace eventstore
