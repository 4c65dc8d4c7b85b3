#include "common/eventstore/event_store.h"

#include <atomic>
#include <barrier>
#include <memory>
#include <set>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/errors/errors.h"
#include "common/eventstore/migrations.h"
#include "common/eventstore/uuid.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "pqxx/pqxx"
#include "tests/support/status_matchers.h"
#include "tests/support/test_database.h"
#include "tests/support/wrong_version.h"

namespace eventstore {
namespace {

using ::shop::testing::ExecAsAdmin;
using ::shop::testing::ExpectWrongVersion;
using ::shop::testing::StatusIs;
using ::shop::testing::TestDsn;
using ::shop::testing::TestSchema;
using ::testing::ElementsAre;
using ::testing::SizeIs;

EventData Event(const std::string& type = "thing.happened",
                const std::string& data = R"({"n":1})") {
  return EventData{NewUuid(), type, data, R"({"correlationId":"c-1"})"};
}

std::vector<int64_t> Versions(const std::vector<RecordedEvent>& events) {
  std::vector<int64_t> versions;
  for (const RecordedEvent& event : events) versions.push_back(event.version);
  return versions;
}

class EventStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    pool_ = std::make_unique<ConnectionPool>(
        PoolOptions{.dsn = TestDsn(), .size = 20});
    ASSERT_TRUE(Migrate(*pool_, schema_.name(), {}).ok());
    store_ = std::make_unique<EventStore>(pool_.get(), schema_.name());
  }

  int64_t CountEvents(const std::string& stream) {
    absl::StatusOr<std::vector<RecordedEvent>> events =
        store_->ReadStreamForward(stream, 1, 10000);
    EXPECT_TRUE(events.ok()) << events.status();
    return events.ok() ? static_cast<int64_t>(events->size()) : -1;
  }

  TestSchema schema_{"es_test"};
  std::unique_ptr<ConnectionPool> pool_;
  std::unique_ptr<EventStore> store_;
};

// no_stream accepts a new stream and refuses an existing one, writing nothing.
TEST_F(EventStoreTest, NoStreamAcceptsNewAndRefusesExisting) {
  absl::StatusOr<AppendResult> first =
      store_->Append("s-1", ExpectedVersion::NoStream(), {Event(), Event()});
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->version, 2);
  EXPECT_FALSE(first->duplicate);

  ExpectWrongVersion(
      store_->Append("s-1", ExpectedVersion::NoStream(), {Event()}), 2);
  EXPECT_EQ(CountEvents("s-1"), 2);
}

// stream_exists refuses a missing stream and accepts an existing one.
TEST_F(EventStoreTest, StreamExistsRefusesMissingAndAcceptsExisting) {
  ExpectWrongVersion(
      store_->Append("s-2", ExpectedVersion::StreamExists(), {Event()}), 0);
  EXPECT_EQ(CountEvents("s-2"), 0);
  ASSERT_TRUE(store_->Append("s-2", ExpectedVersion::Any(), {Event()}).ok());
  absl::StatusOr<AppendResult> next =
      store_->Append("s-2", ExpectedVersion::StreamExists(), {Event()});
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_EQ(next->version, 2);
}

// An exact version is accepted only when it is the stream's version.
TEST_F(EventStoreTest, ExactAcceptsCurrentAndRefusesOther) {
  ASSERT_TRUE(
      store_->Append("s-3", ExpectedVersion::NoStream(), {Event()}).ok());
  absl::StatusOr<AppendResult> ok =
      store_->Append("s-3", ExpectedVersion::Exactly(1), {Event()});
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->version, 2);

  ExpectWrongVersion(
      store_->Append("s-3", ExpectedVersion::Exactly(1), {Event()}), 2);
  ExpectWrongVersion(
      store_->Append("s-3", ExpectedVersion::Exactly(9), {Event()}), 2);
  ExpectWrongVersion(
      store_->Append("missing", ExpectedVersion::Exactly(1), {Event()}), 0);
  EXPECT_EQ(CountEvents("s-3"), 2);
  EXPECT_EQ(CountEvents("missing"), 0);
}

// any appends whatever the version, creating the stream when needed.
TEST_F(EventStoreTest, AnyAlwaysAppends) {
  ASSERT_TRUE(store_->Append("s-4", ExpectedVersion::Any(), {Event()}).ok());
  absl::StatusOr<AppendResult> second =
      store_->Append("s-4", ExpectedVersion::Any(), {Event(), Event()});
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->version, 3);
  absl::StatusOr<std::vector<RecordedEvent>> events =
      store_->ReadStreamForward("s-4", 1, 100);
  ASSERT_TRUE(events.ok());
  EXPECT_THAT(Versions(*events), ElementsAre(1, 2, 3));
  EXPECT_EQ((*events)[0].metadata_json, R"({"correlationId": "c-1"})");
}

// Many writers with the same expectation: one winner per version, the
// losers learn the exact version that beat them, and history has no gaps.
TEST_F(EventStoreTest, ConcurrentWritersGetExactlyOneWinnerPerVersion) {
  constexpr int kWriters = 16;
  constexpr int kRounds = 30;
  std::barrier round_start(kWriters);
  std::atomic<int> wins[kRounds + 1] = {};
  std::atomic<int> bad_losses = 0;
  std::atomic<int> other_errors = 0;

  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&] {
      for (int round = 0; round < kRounds; ++round) {
        round_start.arrive_and_wait();
        absl::StatusOr<AppendResult> result =
            store_->Append("race", ExpectedVersion::Exactly(round), {Event()});
        if (result.ok()) {
          wins[result->version].fetch_add(1);
        } else if (auto wrong = AsWrongExpectedVersion(result.status())) {
          // Nobody starts the next round before everyone ends this one.
          if (wrong->actual != round + 1) bad_losses.fetch_add(1);
        } else {
          other_errors.fetch_add(1);
        }
        round_start.arrive_and_wait();
      }
    });
  }
  for (std::thread& writer : writers) writer.join();

  for (int version = 1; version <= kRounds; ++version) {
    EXPECT_EQ(wins[version].load(), 1) << "version " << version;
  }
  EXPECT_EQ(bad_losses.load(), 0);
  EXPECT_EQ(other_errors.load(), 0);
  absl::StatusOr<std::vector<RecordedEvent>> events =
      store_->ReadStreamForward("race", 1, 1000);
  ASSERT_TRUE(events.ok());
  ASSERT_THAT(*events, SizeIs(kRounds));
  for (int i = 0; i < kRounds; ++i) EXPECT_EQ((*events)[i].version, i + 1);
}

// A retried append (same event ids) succeeds and writes nothing twice.
TEST_F(EventStoreTest, RetriedAppendIsIdempotent) {
  std::vector<EventData> batch = {Event(), Event()};
  absl::StatusOr<AppendResult> first =
      store_->Append("s-5", ExpectedVersion::NoStream(), batch);
  ASSERT_TRUE(first.ok());

  for (const ExpectedVersion& expected :
       {ExpectedVersion::NoStream(), ExpectedVersion::Any(),
        ExpectedVersion::Exactly(0)}) {
    absl::StatusOr<AppendResult> retry = store_->Append("s-5", expected, batch);
    ASSERT_TRUE(retry.ok()) << expected.ToString() << ": " << retry.status();
    EXPECT_TRUE(retry->duplicate);
    EXPECT_EQ(retry->version, first->version);
    EXPECT_EQ(retry->position, first->position);
  }
  EXPECT_EQ(CountEvents("s-5"), 2);

  // The same ids under another stream are refused, not silently dropped.
  absl::StatusOr<AppendResult> elsewhere =
      store_->Append("s-6", ExpectedVersion::Any(), batch);
  EXPECT_EQ(elsewhere.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(CountEvents("s-6"), 0);
}

// Forward reads page by version; backward reads start at the end.
TEST_F(EventStoreTest, ReadsPageForwardAndBackward) {
  for (int i = 0; i < 25; ++i) {
    ASSERT_TRUE(
        store_->Append("paged", ExpectedVersion::Any(), {Event()}).ok());
  }
  std::vector<int64_t> seen;
  int64_t from = 1;
  int pages = 0;
  while (true) {
    absl::StatusOr<std::vector<RecordedEvent>> page =
        store_->ReadStreamForward("paged", from, 10);
    ASSERT_TRUE(page.ok());
    if (page->empty()) break;
    ++pages;
    for (const RecordedEvent& event : *page) seen.push_back(event.version);
    from = page->back().version + 1;
  }
  EXPECT_EQ(pages, 3);
  ASSERT_THAT(seen, SizeIs(25));
  for (int i = 0; i < 25; ++i) EXPECT_EQ(seen[i], i + 1);

  absl::StatusOr<std::vector<RecordedEvent>> tail =
      store_->ReadStreamBackward("paged", 0, 3);
  ASSERT_TRUE(tail.ok());
  EXPECT_THAT(Versions(*tail), ElementsAre(25, 24, 23));
  absl::StatusOr<std::vector<RecordedEvent>> head =
      store_->ReadStreamBackward("paged", 2, 10);
  ASSERT_TRUE(head.ok());
  EXPECT_THAT(Versions(*head), ElementsAre(2, 1));
  EXPECT_EQ(store_->ReadStreamForward("paged", 1, 0).status().code(),
            absl::StatusCode::kInvalidArgument);
}

// A stream read as of a moment shows only what had been recorded by then.
TEST_F(EventStoreTest, ReadsStreamAsOfATimestamp) {
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(
        store_->Append("travel", ExpectedVersion::Any(), {Event()}).ok());
  }
  absl::StatusOr<std::vector<RecordedEvent>> all =
      store_->ReadStreamForward("travel", 1, 10);
  ASSERT_TRUE(all.ok());
  ASSERT_THAT(*all, SizeIs(3));
  ASSERT_LT((*all)[1].recorded_at, (*all)[2].recorded_at);

  absl::StatusOr<std::vector<RecordedEvent>> then =
      store_->ReadStreamAsOf("travel", (*all)[1].recorded_at, 1, 10);
  ASSERT_TRUE(then.ok());
  EXPECT_THAT(Versions(*then), ElementsAre(1, 2));
  absl::StatusOr<std::vector<RecordedEvent>> before = store_->ReadStreamAsOf(
      "travel", (*all)[0].recorded_at - absl::Seconds(1), 1, 10);
  ASSERT_TRUE(before.ok());
  EXPECT_THAT(*before, SizeIs(0));
}

// A transaction that took its position first but commits last is still
// delivered to a reader that keeps reading from its checkpoint.
// Transaction ids compare as numbers, also where their text would not:
// 99 comes before 100 in every read in commit order, pages included.
TEST_F(EventStoreTest, CommitOrderIsNumericAcrossADigitBoundary) {
  pqxx::connection connection(TestDsn());
  pqxx::work tx(connection);
  for (const char* xid : {"100", "99", "1000", "998"}) {
    tx.exec_params(absl::StrCat("INSERT INTO ", schema_.name(),
                                ".events (transaction_id, stream_id, version, "
                                "event_id, type, data, metadata) VALUES "
                                "($1::xid8, 'x-' || $1, 1, $2::uuid, 't', "
                                "'{}', '{\"correlationId\": \"c\"}')"),
                   xid, NewUuid());
  }
  tx.commit();
  std::vector<uint64_t> order;
  GlobalPosition after;
  for (;;) {
    absl::StatusOr<std::vector<RecordedEvent>> page = store_->ReadAll(after, 1);
    ASSERT_TRUE(page.ok()) << page.status();
    if (page->empty()) break;
    order.push_back(page->front().position.transaction_id);
    after = page->front().position;
  }
  EXPECT_THAT(order, ElementsAre(99, 100, 998, 1000));
  absl::StatusOr<GlobalPosition> end = store_->ReadAllEnd();
  ASSERT_TRUE(end.ok());
  EXPECT_EQ(end->transaction_id, 1000u);
  absl::StatusOr<std::vector<RecordedEvent>> correlated =
      store_->ReadByCorrelation("c", GlobalPosition{}, 10);
  ASSERT_TRUE(correlated.ok());
  ASSERT_EQ(correlated->size(), 4u);
  EXPECT_EQ(correlated->front().position.transaction_id, 99u);
}

TEST_F(EventStoreTest, ReadAllNeverSkipsALateCommit) {
  pqxx::connection slow_connection(TestDsn());
  pqxx::work slow(slow_connection);
  pqxx::row late = slow.exec_params1(
      absl::StrCat("INSERT INTO ", schema_.name(),
                   ".events (stream_id, version, event_id, type, data) "
                   "VALUES ('late-1', 1, $1::uuid, 'thing.happened', '{}') "
                   "RETURNING position"),
      NewUuid());
  const int64_t late_position = late[0].as<int64_t>();

  absl::StatusOr<AppendResult> fast =
      store_->Append("fast-1", ExpectedVersion::NoStream(), {Event()});
  ASSERT_TRUE(fast.ok());
  ASSERT_GT(fast->position.position, late_position);

  // The reader runs while the slow transaction is still open.
  std::vector<RecordedEvent> delivered;
  GlobalPosition checkpoint;
  auto read_more = [&] {
    absl::StatusOr<std::vector<RecordedEvent>> page =
        store_->ReadAll(checkpoint, 100);
    ASSERT_TRUE(page.ok()) << page.status();
    for (const RecordedEvent& event : *page) {
      delivered.push_back(event);
      checkpoint = event.position;
    }
  };
  read_more();
  for (const RecordedEvent& event : delivered) {
    EXPECT_NE(event.stream_id, "fast-1")
        << "delivered past an uncommitted earlier transaction";
  }

  slow.commit();
  // Other tests' transactions may hold the horizon back for a moment.
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  auto has = [&](const std::string& stream) {
    for (const RecordedEvent& event : delivered) {
      if (event.stream_id == stream) return true;
    }
    return false;
  };
  while (!(has("late-1") && has("fast-1")) && absl::Now() < deadline) {
    read_more();
  }
  EXPECT_TRUE(has("late-1"));
  EXPECT_TRUE(has("fast-1"));
  std::set<std::string> ids;
  for (const RecordedEvent& event : delivered) {
    EXPECT_TRUE(ids.insert(event.event_id).second) << "delivered twice";
  }
}

// The snapshot rides with the append; an append without one keeps the last,
// and the due time moves on its own.
TEST_F(EventStoreTest, SnapshotIsWrittenWithTheAppend) {
  SnapshotWrite snapshot{R"({"onHand": 5})", absl::FromUnixSeconds(1000)};
  ASSERT_TRUE(store_
                  ->Append("snap", ExpectedVersion::NoStream(),
                           {Event(), Event()}, &snapshot)
                  .ok());
  absl::StatusOr<StreamHead> head = store_->ReadHead("snap");
  ASSERT_TRUE(head.ok());
  EXPECT_EQ(head->version, 2);
  EXPECT_EQ(head->snapshot_version, 2);
  EXPECT_EQ(head->snapshot_json, R"({"onHand": 5})");

  ASSERT_TRUE(
      store_->Append("snap", ExpectedVersion::Exactly(2), {Event()}).ok());
  head = store_->ReadHead("snap");
  ASSERT_TRUE(head.ok());
  EXPECT_EQ(head->version, 3);
  EXPECT_EQ(head->snapshot_version, 2);

  absl::StatusOr<std::vector<std::string>> due =
      store_->StreamsDue(absl::FromUnixSeconds(2000), 10);
  ASSERT_TRUE(due.ok());
  EXPECT_THAT(*due, ElementsAre("snap"));
  due = store_->StreamsDue(absl::FromUnixSeconds(500), 10);
  ASSERT_TRUE(due.ok());
  EXPECT_THAT(*due, SizeIs(0));

  // A due time can move without a new snapshot.
  SnapshotWrite due_only{std::nullopt, absl::FromUnixSeconds(3000)};
  ASSERT_TRUE(
      store_->Append("snap", ExpectedVersion::Exactly(3), {Event()}, &due_only)
          .ok());
  head = store_->ReadHead("snap");
  ASSERT_TRUE(head.ok());
  EXPECT_EQ(head->snapshot_version, 2);
  EXPECT_EQ(head->snapshot_json, R"({"onHand": 5})");
  due = store_->StreamsDue(absl::FromUnixSeconds(2000), 10);
  ASSERT_TRUE(due.ok());
  EXPECT_THAT(*due, SizeIs(0));
  due = store_->StreamsDue(absl::FromUnixSeconds(3000), 10);
  ASSERT_TRUE(due.ok());
  EXPECT_THAT(*due, ElementsAre("snap"));

  absl::StatusOr<StreamHead> missing = store_->ReadHead("nothing");
  ASSERT_TRUE(missing.ok());
  EXPECT_EQ(missing->version, 0);
}

// Stored events cannot be rewritten or deleted, even with direct SQL.
TEST_F(EventStoreTest, EventsAreImmutable) {
  ASSERT_TRUE(store_->Append("fixed", ExpectedVersion::Any(), {Event()}).ok());
  EXPECT_THROW(ExecAsAdmin(absl::StrCat("UPDATE ", schema_.name(),
                                        ".events SET type = 'x'")),
               pqxx::sql_error);
  EXPECT_THROW(
      ExecAsAdmin(absl::StrCat("DELETE FROM ", schema_.name(), ".events")),
      pqxx::sql_error);
  EXPECT_EQ(CountEvents("fixed"), 1);
}

// Malformed appends are refused before anything is written.
TEST_F(EventStoreTest, RefusesMalformedAppends) {
  EXPECT_EQ(store_->Append("bad", ExpectedVersion::Any(), {}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EventData no_id = Event();
  no_id.event_id = "42";
  EXPECT_EQ(
      store_->Append("bad", ExpectedVersion::Any(), {no_id}).status().code(),
      absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->Append("bad", ExpectedVersion::Any(), {Event("t", "{oops")})
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(CountEvents("bad"), 0);
}

// A database that cannot be reached is UNAVAILABLE, not a crash.
TEST(EventStoreUnreachableTest, UnreachableDatabaseIsUnavailable) {
  ConnectionPool pool(PoolOptions{
      .dsn = "host=127.0.0.1 port=1 dbname=none user=none", .size = 1});
  EventStore store(&pool, "nowhere");
  EXPECT_EQ(
      store.Append("s", ExpectedVersion::Any(), {Event()}).status().code(),
      absl::StatusCode::kUnavailable);
  EXPECT_EQ(store.ReadHead("s").status().code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(pool.Ping().code(), absl::StatusCode::kUnavailable);
}

// Two migrations racing for one schema: both succeed, applied once.
TEST(MigrationsTest, ConcurrentMigrationsAreSafeAndIdempotent) {
  TestSchema schema("mig_test");
  std::vector<absl::Status> results(4);
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&, i] {
      ConnectionPool pool(PoolOptions{.dsn = TestDsn(), .size = 1});
      results[i] = Migrate(pool, schema.name(), {{"0100_extra", R"sql(
        CREATE TABLE {schema}.extra (id int PRIMARY KEY))sql"}});
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (const absl::Status& status : results) EXPECT_TRUE(status.ok()) << status;
  pqxx::connection connection(TestDsn());
  pqxx::nontransaction tx(connection);
  EXPECT_EQ(tx.exec1(absl::StrCat("SELECT count(*) FROM ", schema.name(),
                                  ".schema_migrations"))[0]
                .as<size_t>(),
            EventStoreMigrations().size() + 1);
}

// A unique index a service adds refuses the append as UNIQUE_VIOLATION,
// naming the index, and nothing is written.
TEST(ServiceConstraintTest, UniqueIndexRefusalIsReported) {
  TestSchema schema("uniq_test");
  ConnectionPool pool(PoolOptions{.dsn = TestDsn(), .size = 2});
  ASSERT_TRUE(Migrate(pool, schema.name(), {{"0100_one_key", R"sql(
    CREATE UNIQUE INDEX one_key ON {schema}.events ((data->>'key')))sql"}})
                  .ok());
  EventStore store(&pool, schema.name());
  ASSERT_TRUE(
      store.Append("a", ExpectedVersion::Any(), {Event("t", R"({"key":"k"})")})
          .ok());
  absl::StatusOr<AppendResult> second =
      store.Append("b", ExpectedVersion::Any(), {Event("t", R"({"key":"k"})")});
  ASSERT_THAT(second, StatusIs(absl::StatusCode::kAlreadyExists,
                               kUniqueViolationReason));
  EXPECT_EQ(shop::ErrorInfoOf(second.status())->metadata().at("constraint"),
            "one_key");
  absl::StatusOr<StreamHead> b = store.ReadHead("b");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->version, 0);
}

// Errors are recognised by SQLSTATE and constraint name, so a server that
// speaks another language (lc_messages, superuser-settable per session)
// gets the same answers: a service's unique index named, a retried append
// a duplicate, a missing privilege PERMISSION_DENIED.
TEST(ServerLanguageTest, ErrorsAreRecognisedInGerman) {
  const std::string dsn =
      absl::StrCat(TestDsn(), " options='-c lc_messages=de_DE.UTF-8'");
  try {
    pqxx::connection probe(dsn);
  } catch (const std::exception& e) {
    // deploy/local/setup.sh generates the locale before the cluster starts.
    FAIL() << "the server lacks the de_DE.UTF-8 locale: " << e.what();
  }
  TestSchema schema("lang_test");
  const std::string role = "lang_" + NewUuid().substr(28);
  ExecAsAdmin(absl::StrCat("CREATE ROLE ", role));
  {
    ConnectionPool pool(PoolOptions{.dsn = dsn, .size = 1});
    ASSERT_TRUE(Migrate(pool, schema.name(), {{"0100_one_key", R"sql(
      CREATE UNIQUE INDEX one_key ON {schema}.events ((data->>'key')))sql"}})
                    .ok());
    // The premise: the server's messages are German now.
    absl::Status german = pool.Run([](Connection& connection) {
      pqxx::nontransaction tx(connection.raw());
      tx.exec("SELECT * FROM no_such_table");
      return absl::OkStatus();
    });
    ASSERT_THAT(german.message(), ::testing::HasSubstr("FEHLER"));

    EventStore store(&pool, schema.name());
    const std::vector<EventData> first = {Event("t", R"({"key":"k"})")};
    ASSERT_TRUE(store.Append("a", ExpectedVersion::Any(), first).ok());
    absl::StatusOr<AppendResult> retried =
        store.Append("a", ExpectedVersion::Any(), first);
    ASSERT_TRUE(retried.ok()) << retried.status();
    EXPECT_TRUE(retried->duplicate);

    absl::StatusOr<AppendResult> taken = store.Append(
        "b", ExpectedVersion::Any(), {Event("t", R"({"key":"k"})")});
    ASSERT_THAT(taken, StatusIs(absl::StatusCode::kAlreadyExists,
                                kUniqueViolationReason));
    EXPECT_EQ(shop::ErrorInfoOf(taken.status())->metadata().at("constraint"),
              "one_key");

    absl::Status denied = pool.Run([&](Connection& connection) {
      pqxx::nontransaction(connection.raw())
          .exec(absl::StrCat("SET ROLE ", role));
      connection.Prepare("lang_denied", absl::StrCat("SELECT 1 FROM ",
                                                     schema.name(), ".events"));
      pqxx::nontransaction tx(connection.raw());
      tx.exec_prepared("lang_denied");
      return absl::OkStatus();
    });
    EXPECT_THAT(denied, StatusIs(absl::StatusCode::kPermissionDenied));
  }
  ExecAsAdmin(absl::StrCat("DROP ROLE ", role));
}

// Each service's role owns its schema and cannot touch the other's.
TEST(SchemaIsolationTest, RolesCannotReadEachOthersSchema) {
  const std::string tag = NewUuid().substr(28);
  const std::string role_a = "iso_a_" + tag, role_b = "iso_b_" + tag;
  for (const std::string& role : {role_a, role_b}) {
    ExecAsAdmin(absl::StrCat("CREATE ROLE ", role, " LOGIN; CREATE SCHEMA ",
                             role, " AUTHORIZATION ", role));
  }
  {
    ConnectionPool pool_a(
        PoolOptions{.dsn = TestDsn() + " user=" + role_a, .size = 2});
    ConnectionPool pool_b(
        PoolOptions{.dsn = TestDsn() + " user=" + role_b, .size = 2});
    ASSERT_TRUE(Migrate(pool_a, role_a, {}).ok());
    ASSERT_TRUE(Migrate(pool_b, role_b, {}).ok());
    EventStore a(&pool_a, role_a);
    EventStore b(&pool_b, role_b);
    ASSERT_TRUE(a.Append("x-1", ExpectedVersion::NoStream(), {Event()}).ok());

    // Same stream name, separate schemas: b sees nothing of a's stream.
    absl::StatusOr<std::vector<RecordedEvent>> in_b =
        b.ReadStreamForward("x-1", 1, 10);
    ASSERT_TRUE(in_b.ok());
    EXPECT_THAT(*in_b, SizeIs(0));

    // And b's role cannot reach into a's schema at all.
    EventStore a_through_b(&pool_b, role_a);
    absl::Status read = a_through_b.ReadStreamForward("x-1", 1, 10).status();
    EXPECT_EQ(read.code(), absl::StatusCode::kPermissionDenied) << read;
    EXPECT_EQ(a_through_b.Append("x-1", ExpectedVersion::Any(), {Event()})
                  .status()
                  .code(),
              absl::StatusCode::kPermissionDenied);
  }
  for (const std::string& role : {role_a, role_b}) {
    ExecAsAdmin(
        absl::StrCat("DROP SCHEMA ", role, " CASCADE; DROP ROLE ", role));
  }
}

// A load reads the head, then the events after the snapshot: an append in
// between stays out, so the state matches the version the load returns.
TEST_F(EventStoreTest, LoadStopsAtTheHeadItRead) {
  const SnapshotWrite snapshot{R"({"seen": 1})", std::nullopt};
  ASSERT_TRUE(
      store_
          ->Append("s-load", ExpectedVersion::NoStream(), {Event()}, &snapshot)
          .ok());
  ASSERT_TRUE(
      store_->Append("s-load", ExpectedVersion::Exactly(1), {Event()}).ok());
  int applied = 0;
  absl::StatusOr<int64_t> version = LoadStream(
      *store_, "s-load",
      [&](const std::string&) {
        // Lands after the head was read, before the events are.
        return store_->Append("s-load", ExpectedVersion::Exactly(2), {Event()})
            .status();
      },
      [&](const RecordedEvent&) {
        ++applied;
        return absl::OkStatus();
      },
      nullptr);
  ASSERT_TRUE(version.ok()) << version.status();
  EXPECT_EQ(*version, 2);
  EXPECT_EQ(applied, 1);
}

}  // namespace
}  // namespace eventstore
