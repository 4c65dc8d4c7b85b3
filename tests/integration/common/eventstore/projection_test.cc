// Projections on a real PostgreSQL: every event applied exactly once,
// under concurrent appends, across a lost connection and a change of
// leader; a failing event stalls the projection and is never skipped.
#include "common/eventstore/projection.h"

#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/eventstore/event_store.h"
#include "common/eventstore/feed.h"
#include "common/eventstore/migrations.h"
#include "common/eventstore/projection_rebuild.h"
#include "common/eventstore/uuid.h"
#include "common/metrics/metrics.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "pqxx/pqxx"
#include "tests/support/test_database.h"

namespace eventstore {
namespace {

using ::shop::testing::ExecAsAdmin;
using ::shop::testing::LastCommittedPosition;
using ::shop::testing::TestDsn;
using ::shop::testing::TestSchema;
using ::testing::HasSubstr;

const std::vector<Migration>& CountMigrations() {
  static const auto* const kMigrations =
      new std::vector<Migration>{{"0900_counted", R"sql(
CREATE TABLE {schema}.counted (
  stream_id text PRIMARY KEY,
  version bigint NOT NULL,
  events bigint NOT NULL
);
)sql"}};
  return *kMigrations;
}

// Counts each stream's events; refuses a repeat or a gap in a stream's
// versions (an event applied twice or skipped), and events of type
// "poison".
class CountingModel final : public ProjectionModel {
 public:
  explicit CountingModel(std::string schema) : schema_(std::move(schema)) {}

  absl::Status Apply(pqxx::work& tx,
                     absl::Span<const RecordedEvent> events) override {
    for (const RecordedEvent& event : events) {
      if (event.type == "poison" && !cured) {
        return absl::InvalidArgumentError("cannot digest poison");
      }
      const pqxx::result row =
          tx.exec_params(absl::StrCat("SELECT version FROM ", schema_,
                                      ".counted WHERE stream_id = $1"),
                         event.stream_id);
      const int64_t last = row.empty() ? 0 : row[0][0].as<int64_t>();
      if (event.version != last + 1) {
        return absl::InternalError(absl::StrCat(
            event.stream_id, " version ", event.version, " after ", last));
      }
      tx.exec_params(absl::StrCat("INSERT INTO ", schema_,
                                  ".counted VALUES ($1, $2, 1) ON CONFLICT "
                                  "(stream_id) DO UPDATE SET version = $2, "
                                  "events = counted.events + 1"),
                     event.stream_id, event.version);
    }
    return absl::OkStatus();
  }

  // A fix deployed: poison is digested from now on.
  std::atomic<bool> cured{false};

 private:
  const std::string schema_;
};

// One replica: its own pool, store, feed and projection.
struct Replica {
  explicit Replica(const std::string& schema)
      : pool(PoolOptions{.dsn = TestDsn(), .size = 4}),
        store(&pool, schema),
        feed(&store, {.dsn = TestDsn()}),
        model(schema),
        projection(
            "counted", &model, &store, &feed,
            {.dsn = TestDsn(), .page = 50, .retry = absl::Milliseconds(50)}) {
    EXPECT_TRUE(feed.Start().ok());
    projection.Start();
  }
  ConnectionPool pool;
  EventStore store;
  Feed feed;
  CountingModel model;
  Projection projection;
};

class ProjectionTest : public ::testing::Test {
 protected:
  ProjectionTest() {
    ConnectionPool pool(PoolOptions{.dsn = TestDsn(), .size = 1});
    EXPECT_TRUE(Migrate(pool, schema_.name(), CountMigrations()).ok());
  }

  void AppendTo(EventStore& store, const std::string& stream, int n,
                const std::string& type = "counted.thing") {
    for (int i = 0; i < n; ++i) {
      ASSERT_TRUE(
          store
              .Append(stream, ExpectedVersion::Any(), {{NewUuid(), type, "{}"}})
              .ok());
    }
  }

  // stream -> (version, events) as the model holds them.
  std::map<std::string, std::pair<int64_t, int64_t>> Counted() {
    pqxx::connection c(TestDsn());
    pqxx::work tx(c);
    std::map<std::string, std::pair<int64_t, int64_t>> out;
    for (const pqxx::row& row :
         tx.exec(absl::StrCat("SELECT stream_id, version, events FROM ",
                              schema_.name(), ".counted"))) {
      out[row[0].c_str()] = {row[1].as<int64_t>(), row[2].as<int64_t>()};
    }
    return out;
  }

  // Where the appends so far end.
  GlobalPosition End() { return LastCommittedPosition(schema_.name()); }

  TestSchema schema_{"projection"};
  // Where a rebuild builds its tables; dropped with the test.
  struct Scratch {
    explicit Scratch(const TestSchema& schema)
        : name_(schema.name() + "_rebuild") {}
    ~Scratch() { ExecAsAdmin("DROP SCHEMA IF EXISTS " + name_ + " CASCADE"); }
    const std::string& name() const { return name_; }
    std::string name_;
  } scratch_{schema_};
};

TEST_F(ProjectionTest, AppliesEveryEventOnceUnderConcurrentAppends) {
  Replica replica(schema_.name());
  std::vector<std::thread> writers;
  for (int w = 0; w < 4; ++w) {
    writers.emplace_back([&, w] {
      for (int s = 0; s < 5; ++s) {
        AppendTo(replica.store, absl::StrCat("s-", w, "-", s), 40);
      }
    });
  }
  for (std::thread& writer : writers) writer.join();

  ASSERT_TRUE(replica.projection.AwaitApplied(End(), absl::Seconds(20)));
  const auto counted = Counted();
  ASSERT_EQ(counted.size(), 20u);
  for (const auto& [stream, figures] : counted) {
    EXPECT_EQ(figures, std::make_pair(int64_t{40}, int64_t{40})) << stream;
  }
  EXPECT_EQ(replica.projection.status().state, ProjectionState::kLeading);
}

TEST_F(ProjectionTest, AFailingEventStallsItAndIsNotSkipped) {
  Replica replica(schema_.name());
  AppendTo(replica.store, "a", 7);
  AppendTo(replica.store, "b", 1, "poison");
  AppendTo(replica.store, "a", 3);

  absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (replica.projection.status().state != ProjectionState::kStalled &&
         absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  const ProjectionStatus status = replica.projection.status();
  ASSERT_EQ(status.state, ProjectionState::kStalled);
  EXPECT_THAT(status.error, HasSubstr("poison, b version 1"));
  EXPECT_THAT(status.error, HasSubstr("cannot digest poison"));
  // Everything before the event, nothing after it.
  EXPECT_EQ(Counted()["a"], std::make_pair(int64_t{7}, int64_t{7}));
  const std::string metrics = shop::metrics::Default().Exposition();
  const std::string labels =
      absl::StrCat("{schema=\"", schema_.name(), "\",projection=\"counted\",");
  EXPECT_THAT(metrics, HasSubstr(absl::StrCat("shop_projection_state", labels,
                                              "state=\"stalled\"} 1")));
  EXPECT_THAT(metrics, HasSubstr(absl::StrCat("shop_projection_state", labels,
                                              "state=\"leading\"} 0")));

  // Visible to an operator, and a restarted replica stays stalled.
  absl::StatusOr<std::vector<ProjectionRow>> rows =
      ReadProjections(replica.pool, schema_.name());
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_THAT((*rows)[0].error, HasSubstr("cannot digest poison"));
  EXPECT_EQ((*rows)[0].behind, 4);
  EXPECT_TRUE((*rows)[0].led);
  replica.projection.Stop();
  Replica restarted(schema_.name());
  absl::SleepFor(absl::Milliseconds(500));
  EXPECT_EQ(restarted.projection.status().state, ProjectionState::kStalled);
  EXPECT_EQ(Counted()["a"], std::make_pair(int64_t{7}, int64_t{7}));

  // The fix deployed and the stall cleared by hand: it goes on from the
  // event that failed.
  restarted.model.cured = true;
  pqxx::connection admin(TestDsn());
  pqxx::nontransaction(admin).exec(
      absl::StrCat("UPDATE ", schema_.name(), ".projections SET error = NULL"));
  ASSERT_TRUE(restarted.projection.AwaitApplied(End(), absl::Seconds(20)));
  EXPECT_EQ(Counted()["a"], std::make_pair(int64_t{10}, int64_t{10}));
  EXPECT_EQ(Counted()["b"], std::make_pair(int64_t{1}, int64_t{1}));
}

TEST_F(ProjectionTest, OneReplicaLeadsAndAnotherTakesOverWhenItGoes) {
  auto first = std::make_unique<Replica>(schema_.name());
  Replica second(schema_.name());
  AppendTo(first->store, "x", 30);
  ASSERT_TRUE(first->projection.AwaitApplied(End(), absl::Seconds(20)) ||
              second.projection.AwaitApplied(End(), absl::Seconds(20)));
  const ProjectionState a = first->projection.status().state;
  const ProjectionState b = second.projection.status().state;
  ASSERT_TRUE((a == ProjectionState::kLeading) !=
              (b == ProjectionState::kLeading))
      << ProjectionStateName(a) << " and " << ProjectionStateName(b);
  Replica* leader = a == ProjectionState::kLeading ? first.get() : &second;
  Replica* follower = leader == first.get() ? &second : first.get();

  // Appends keep coming while the leader goes away.
  std::thread writer([&] { AppendTo(follower->store, "x", 60); });
  absl::SleepFor(absl::Milliseconds(50));
  if (leader == first.get()) {
    first.reset();
  } else {
    second.projection.Stop();
  }
  writer.join();
  ASSERT_TRUE(follower->projection.AwaitApplied(End(), absl::Seconds(20)));
  EXPECT_EQ(follower->projection.status().state, ProjectionState::kLeading);
  EXPECT_EQ(Counted()["x"], std::make_pair(int64_t{90}, int64_t{90}));
}

TEST_F(ProjectionTest, ALostConnectionNeitherRepeatsNorSkips) {
  Replica replica(schema_.name());
  std::thread writer([&] { AppendTo(replica.store, "y", 300); });
  // Ends the leader's session (and its lock) a few times mid-stream.
  for (int i = 0; i < 3; ++i) {
    absl::SleepFor(absl::Milliseconds(100));
    pqxx::connection admin(TestDsn());
    // The lock of this projection only: other tests' run beside it.
    pqxx::nontransaction(admin).exec_params(
        "SELECT pg_terminate_backend(l.pid) FROM pg_locks l, (SELECT "
        "hashtextextended($1, 0) AS k) AS key WHERE l.locktype = 'advisory' "
        "AND l.granted AND l.objsubid = 1 AND l.classid::text::bigint = "
        "((key.k >> 32) & 4294967295) AND l.objid::text::bigint = (key.k & "
        "4294967295)",
        absl::StrCat("shop-projection:", schema_.name(), ".counted"));
  }
  writer.join();
  ASSERT_TRUE(replica.projection.AwaitApplied(End(), absl::Seconds(20)));
  EXPECT_EQ(Counted()["y"], std::make_pair(int64_t{300}, int64_t{300}));
}

// A rebuild while appends keep coming: the new rows come from history (a
// row corrupted in the live table is right again), the leader goes on from
// the swapped-in checkpoint, and no event is applied twice or skipped (the
// model would stall on either).
TEST_F(ProjectionTest, ARebuildUnderLoadEndsEqualAndAppliesNothingTwice) {
  Replica replica(schema_.name());
  ExecAsAdmin(absl::StrCat("CREATE SCHEMA ", scratch_.name()));
  AppendTo(replica.store, "before", 30);
  ASSERT_TRUE(replica.projection.AwaitApplied(End(), absl::Seconds(20)));
  pqxx::connection admin(TestDsn());
  pqxx::nontransaction(admin).exec(
      absl::StrCat("UPDATE ", schema_.name(),
                   ".counted SET events = 999 WHERE stream_id "
                   "= 'before'"));

  std::atomic<bool> stop = false;
  std::vector<std::thread> writers;
  std::atomic<int> appended[3] = {0, 0, 0};
  for (int w = 0; w < 3; ++w) {
    writers.emplace_back([&, w] {
      while (!stop) {
        AppendTo(replica.store, absl::StrCat("during-", w), 1);
        ++appended[w];
      }
    });
  }
  const RebuildableModel model = {
      .name = "counted",
      .tables = {"counted"},
      .migrations = CountMigrations(),
      .make = [](const std::string& rows_schema) {
        return std::make_unique<CountingModel>(rows_schema);
      }};
  ConnectionPool owner(PoolOptions{.dsn = TestDsn(), .size = 2});
  EventStore reader(&owner, schema_.name());
  absl::StatusOr<GlobalPosition> rebuilt =
      RebuildProjection(owner, reader, model, {.page = 20});
  ASSERT_TRUE(rebuilt.ok()) << rebuilt.status();
  absl::SleepFor(absl::Milliseconds(200));
  stop = true;
  for (std::thread& writer : writers) writer.join();

  ASSERT_TRUE(replica.projection.AwaitApplied(End(), absl::Seconds(20)))
      << replica.projection.status().error;
  EXPECT_EQ(replica.projection.status().state, ProjectionState::kLeading);
  const auto counted = Counted();
  EXPECT_EQ(counted.at("before"), std::make_pair(int64_t{30}, int64_t{30}));
  for (int w = 0; w < 3; ++w) {
    const int64_t n = appended[w];
    EXPECT_GT(n, 0);
    EXPECT_EQ(counted.at(absl::StrCat("during-", w)), std::make_pair(n, n));
  }
  // The new tables moved out of the scratch schema with the swap.
  EXPECT_TRUE(pqxx::nontransaction(admin)
                  .exec_params("SELECT 1 FROM pg_tables WHERE schemaname = $1",
                               scratch_.name())
                  .empty());
}

}  // namespace
}  // namespace eventstore
