#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/eventstore/uuid.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "pqxx/pqxx"
#include "tests/support/inventory_harness.h"

// Subscribe through a real gRPC channel on a real PostgreSQL schema: the
// feed's order, resumption, filters, checkpoints and limits.
namespace inventory {
namespace {

using ::shop::testing::InventoryHarness;
using ::shop::testing::TestDsn;
using ::shop::testing::TestSchema;
using ::testing::ElementsAreArray;

struct Received {
  std::vector<std::string> ids;        // event ids, in arrival order
  std::vector<std::string> positions;  // their tokens
  std::string last_position;           // of the last message
  int messages = 0;
  bool caught_up = false;
};

class Subscription {
 public:
  Subscription(InventoryHarness& server, v1::SubscribeRequest request,
               absl::Duration deadline = absl::Seconds(30)) {
    context_.set_deadline(absl::ToChronoTime(absl::Now() + deadline));
    reader_ = server.stub().Subscribe(&context_, request);
  }
  ~Subscription() {
    context_.TryCancel();
    if (!finished_) reader_->Finish();
  }

  // Reads messages until `done` holds of what was received.
  template <typename Done>
  bool ReadUntil(Done done) {
    v1::SubscribeResponse message;
    while (!done(got_)) {
      if (!reader_->Read(&message)) return false;
      ++got_.messages;
      for (const v1::RecordedEvent& event : message.events()) {
        got_.ids.push_back(event.event_id());
        got_.positions.push_back(event.position());
      }
      got_.last_position = message.position();
      got_.caught_up = got_.caught_up || message.caught_up();
      last_ = message;
    }
    return true;
  }
  bool ReadEvents(size_t n) {
    return ReadUntil([n](const Received& r) { return r.ids.size() >= n; });
  }
  bool ReadUntilCaughtUp() {
    return ReadUntil([](const Received& r) { return r.caught_up; });
  }
  grpc::Status Finish() {
    finished_ = true;
    return reader_->Finish();
  }

  const Received& got() const { return got_; }
  const v1::SubscribeResponse& last() const { return last_; }

 private:
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReader<v1::SubscribeResponse>> reader_;
  Received got_;
  v1::SubscribeResponse last_;
  bool finished_ = false;
};

v1::SubscribeRequest From(const std::string& position) {
  v1::SubscribeRequest request;
  request.set_from_position(position);
  return request;
}

class SubscribeTest : public ::testing::Test {
 protected:
  SubscribeTest() : schema_("subscribe"), server_(schema_.name()) {}

  // Appends `n` events of `type` to `stream`, one append each; returns ids.
  std::vector<std::string> Append(const std::string& stream, int n,
                                  const std::string& type = "test.happened") {
    std::vector<std::string> ids;
    for (int i = 0; i < n; ++i) {
      eventstore::EventData event{eventstore::NewUuid(), type, "{}"};
      absl::StatusOr<eventstore::AppendResult> appended =
          server_.events().Append(stream, eventstore::ExpectedVersion::Any(),
                                  {event});
      EXPECT_TRUE(appended.ok()) << appended.status();
      ids.push_back(event.event_id);
    }
    return ids;
  }

  // The events already there before a test appends (the schema's own,
  // such as the main warehouse's registration).
  std::vector<std::string> Existing() {
    Subscription subscription(server_, From(""));
    EXPECT_TRUE(subscription.ReadUntilCaughtUp());
    return subscription.got().ids;
  }

  TestSchema schema_;
  InventoryHarness server_;
};

TEST_F(SubscribeTest, CatchesUpThenGoesLiveInOneCall) {
  std::vector<std::string> expected = Existing();
  for (const std::string& id : Append("product-a", 20)) expected.push_back(id);
  for (const std::string& id : Append("product-b", 10)) expected.push_back(id);

  Subscription subscription(server_, From(""));
  ASSERT_TRUE(subscription.ReadUntilCaughtUp());
  EXPECT_THAT(subscription.got().ids, ElementsAreArray(expected));

  for (const std::string& id : Append("product-c", 5)) expected.push_back(id);
  ASSERT_TRUE(subscription.ReadEvents(expected.size()));
  EXPECT_THAT(subscription.got().ids, ElementsAreArray(expected));
}

TEST_F(SubscribeTest, ResumingFromAnyPositionGivesExactlyTheRest) {
  std::vector<std::string> all = Existing();
  for (int round = 0; round < 5; ++round) {
    for (const std::string& id : Append(absl::StrCat("product-", round), 12)) {
      all.push_back(id);
    }
  }
  Subscription full(server_, From(""));
  ASSERT_TRUE(full.ReadUntilCaughtUp());
  ASSERT_THAT(full.got().ids, ElementsAreArray(all));

  std::mt19937 random(7);
  for (int pick = 0; pick < 8; ++pick) {
    const size_t k = random() % all.size();
    Subscription resumed(server_, From(full.got().positions[k]));
    ASSERT_TRUE(resumed.ReadUntilCaughtUp());
    EXPECT_THAT(resumed.got().ids,
                ElementsAreArray(all.begin() + static_cast<ptrdiff_t>(k) + 1,
                                 all.end()))
        << "resumed after event " << k;
  }
  // From the last message's position: nothing before it again.
  Subscription at_end(server_, From(full.got().last_position));
  ASSERT_TRUE(at_end.ReadUntilCaughtUp());
  EXPECT_TRUE(at_end.got().ids.empty());
}

TEST_F(SubscribeTest, AnEventThatCommitsLateWithASmallerPositionIsNotSkipped) {
  Subscription subscription(server_, From("end"));
  ASSERT_TRUE(subscription.ReadUntilCaughtUp());

  // A writer takes its transaction id and position first, commits last.
  pqxx::connection late(TestDsn());
  pqxx::work tx(late);
  const std::string late_id = eventstore::NewUuid();
  tx.exec_params(absl::StrCat("INSERT INTO ", schema_.name(),
                              ".events (stream_id, version, event_id, type, "
                              "data) VALUES ('product-late', 1, $1, "
                              "'test.late', '{}')"),
                 late_id);
  const std::vector<std::string> others = Append("product-early", 3);
  // Held back while the older transaction may still commit before them.
  absl::SleepFor(absl::Milliseconds(300));
  tx.commit();

  ASSERT_TRUE(subscription.ReadEvents(4));
  std::vector<std::string> expected = {late_id};
  expected.insert(expected.end(), others.begin(), others.end());
  EXPECT_THAT(subscription.got().ids, ElementsAreArray(expected));
}

TEST_F(SubscribeTest, FiltersByTypeAndStreamPrefix) {
  Append("product-x", 3, "stock.received");
  const std::vector<std::string> wanted =
      Append("product-y1", 2, "stock.reserved");
  Append("warehouse-y", 2, "stock.reserved");
  Append("product-y2", 2, "stock.received");

  v1::SubscribeRequest request = From("");
  request.add_types("stock.reserved");
  request.set_stream_prefix("product-y");
  Subscription subscription(server_, request);
  ASSERT_TRUE(subscription.ReadUntilCaughtUp());
  EXPECT_THAT(subscription.got().ids, ElementsAreArray(wanted));
}

TEST_F(SubscribeTest, SendsACheckpointPastFilteredEventsWhileIdle) {
  v1::SubscribeRequest request = From("end");
  request.set_stream_prefix("nothing-matches-");
  Subscription subscription(server_, request);
  ASSERT_TRUE(subscription.ReadUntilCaughtUp());
  const std::string before = subscription.got().last_position;
  Append("product-q", 3);

  const absl::Time start = absl::Now();
  ASSERT_TRUE(subscription.ReadUntil(
      [&](const Received& r) { return r.last_position != before; }));
  EXPECT_LT(absl::Now() - start, absl::Seconds(7));
  EXPECT_TRUE(subscription.got().ids.empty());
  // Resuming from the checkpoint skips the filtered events for good.
  Subscription resumed(server_, From(subscription.got().last_position));
  ASSERT_TRUE(resumed.ReadUntilCaughtUp());
  EXPECT_TRUE(resumed.got().ids.empty());
}

TEST_F(SubscribeTest, ManyLiveSubscribersShareOneReadPerWakeUp) {
  constexpr int kSubscribers = 200;
  std::vector<std::unique_ptr<Subscription>> subscriptions;
  for (int i = 0; i < kSubscribers; ++i) {
    subscriptions.push_back(
        std::make_unique<Subscription>(server_, From("end")));
    ASSERT_TRUE(subscriptions.back()->ReadUntilCaughtUp());
  }
  const eventstore::FeedStats before = server_.feed().stats();
  constexpr int kAppends = 20;
  const std::vector<std::string> ids = Append("product-live", kAppends);
  for (auto& subscription : subscriptions) {
    ASSERT_TRUE(subscription->ReadEvents(ids.size()));
    EXPECT_THAT(subscription->got().ids, ElementsAreArray(ids));
  }
  const eventstore::FeedStats after = server_.feed().stats();
  EXPECT_EQ(after.subscribers, kSubscribers);
  EXPECT_EQ(after.catch_up_reads, before.catch_up_reads);
  // Reads follow the wake-ups (and the retries of a held-back event),
  // never the number of subscribers.
  EXPECT_LE(after.live_reads - before.live_reads, 4 * kAppends);
}

TEST_F(SubscribeTest, RefusesAPositionItDidNotMake) {
  Subscription subscription(server_, From("p1:not-a-token"));
  EXPECT_FALSE(subscription.ReadEvents(1));
  const grpc::Status status = subscription.Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), ::testing::HasSubstr("from_position"));
}

// Resident memory of this process (server and client both live here).
int64_t ResidentBytes() {
  std::ifstream statm("/proc/self/statm");
  int64_t pages = 0, resident = 0;
  statm >> pages >> resident;
  return resident * sysconf(_SC_PAGESIZE);
}

// A consumer that stops reading is held by flow control: while 100,000
// events of 512 bytes (about 60 MB stored) are appended, the process grows
// by less than 40 MiB (the feed's window is 4 MiB here; gRPC's windows and
// the appends' own buffers are the rest), and the consumer then gets all.
TEST(SubscribeSlowConsumerTest, MemoryStaysBoundedAndNothingIsLost) {
  TestSchema schema("subscribe_slow");
  InventoryHarness server(schema.name(), TestDsn(), 4, {},
                          {.window_bytes = 4 << 20});
  Subscription subscription(server, From(""), absl::Seconds(120));
  ASSERT_TRUE(subscription.ReadUntilCaughtUp());
  const size_t existing = subscription.got().ids.size();

  const std::string payload =
      absl::StrCat("{\"pad\":\"", std::string(500, 'x'), "\"}");
  constexpr int kEvents = 100'000;
  constexpr int kPerAppend = 1000;
  std::vector<std::string> ids;
  ids.reserve(kEvents);
  int64_t peak_growth = 0;
  const int64_t before = ResidentBytes();
  for (int a = 0; a < kEvents / kPerAppend; ++a) {
    std::vector<eventstore::EventData> events;
    for (int i = 0; i < kPerAppend; ++i) {
      events.push_back({eventstore::NewUuid(), "load.happened", payload});
      ids.push_back(events.back().event_id);
    }
    ASSERT_TRUE(server.events()
                    .Append(absl::StrCat("load-", a % 10),
                            eventstore::ExpectedVersion::Any(), events)
                    .ok());
    peak_growth = std::max(peak_growth, ResidentBytes() - before);
  }
  // Let the feed read all of it while the consumer still does not.
  ASSERT_TRUE(server.feed().AwaitHead(
      shop::testing::LastCommittedPosition(schema.name()), absl::Seconds(60)));
  peak_growth = std::max(peak_growth, ResidentBytes() - before);
  RecordProperty("rss_growth_bytes", static_cast<int>(peak_growth));
  EXPECT_LT(peak_growth, int64_t{40} << 20);

  ASSERT_TRUE(subscription.ReadEvents(existing + kEvents));
  std::vector<std::string> got(
      subscription.got().ids.begin() + static_cast<ptrdiff_t>(existing),
      subscription.got().ids.end());
  EXPECT_EQ(got.size(), ids.size());
  EXPECT_TRUE(got == ids) << "events out of order or missing";
}

TEST(SubscribeLimitTest, SubscribersBeyondTheCapAreResourceExhausted) {
  TestSchema schema("subscribe_cap");
  InventoryHarness server(schema.name(), TestDsn(), 4, {},
                          {.max_subscribers = 2});
  Subscription first(server, From("end"));
  Subscription second(server, From("end"));
  ASSERT_TRUE(first.ReadUntilCaughtUp());
  ASSERT_TRUE(second.ReadUntilCaughtUp());
  Subscription third(server, From("end"));
  EXPECT_FALSE(third.ReadUntilCaughtUp());
  EXPECT_EQ(third.Finish().error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
}

TEST(SubscribeDrainTest, DrainEndsSubscriptionsWithWhereToResume) {
  TestSchema schema("subscribe_drain");
  InventoryHarness server(schema.name());
  Subscription subscription(server, From("end"));
  ASSERT_TRUE(subscription.ReadUntilCaughtUp());
  const absl::Time start = absl::Now();
  server.server().Shutdown();
  EXPECT_FALSE(subscription.ReadEvents(1));
  const grpc::Status status = subscription.Finish();
  EXPECT_LT(absl::Now() - start, absl::Seconds(3));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_THAT(status.error_message(),
              ::testing::HasSubstr(subscription.got().last_position));
}

}  // namespace
}  // namespace inventory
