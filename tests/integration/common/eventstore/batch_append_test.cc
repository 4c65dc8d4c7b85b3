#include <atomic>
#include <barrier>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/errors/errors.h"
#include "common/eventstore/event_store.h"
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
using ::shop::testing::TestDsn;
using ::shop::testing::TestSchema;

constexpr absl::Duration kPatience = absl::Seconds(30);

EventData Event(const std::string& data = R"({"n":1})") {
  return EventData{NewUuid(), "thing.happened", data, "{}"};
}

// One caller's append, as handed to the store.
struct Request {
  Request(std::string stream, int64_t expected,
          std::vector<EventData> events = {Event()},
          std::optional<SnapshotWrite> snapshot = std::nullopt)
      : stream(std::move(stream)),
        expected(expected),
        events(std::move(events)),
        snapshot(std::move(snapshot)) {}

  std::string stream;
  int64_t expected;
  std::vector<EventData> events;
  std::optional<SnapshotWrite> snapshot;
};

// Holds `stream`'s row locked until Release: an append to it waits in the
// database, holding its in-flight slot.
class StreamLock final {
 public:
  StreamLock(const std::string& schema, const std::string& stream)
      : connection_(TestDsn()), work_(connection_) {
    work_.exec_params(absl::StrCat("SELECT 1 FROM ", schema,
                                   ".streams WHERE stream_id = $1 FOR UPDATE"),
                      stream);
  }
  void Release() { work_.commit(); }

 private:
  pqxx::connection connection_;
  pqxx::work work_;
};

class EventStoreBatchAppendTest : public ::testing::Test {
 protected:
  void SetUp() override {
    pool_ = std::make_unique<ConnectionPool>(
        PoolOptions{.dsn = TestDsn(), .size = 20});
    ASSERT_TRUE(Migrate(*pool_, schema_.name(), {}).ok());
    // One statement in flight: a blocked one makes every other caller queue.
    store_ = std::make_unique<EventStore>(
        pool_.get(), schema_.name(),
        EventStoreOptions{
            .max_batch = 16, .max_in_flight = 1, .write_timeout = kPatience});
  }

  // Creates `stream` with `count` events, through the single path.
  void Seed(const std::string& stream, int count,
            const SnapshotWrite* snapshot = nullptr) {
    std::vector<EventData> events;
    for (int i = 0; i < count; ++i) events.push_back(Event());
    absl::StatusOr<AppendResult> result =
        store_->Append(stream, ExpectedVersion::NoStream(), events, snapshot);
    ASSERT_TRUE(result.ok()) << result.status();
  }

  // Appends all `requests` at once: a lone append to a stream locked by
  // another transaction holds the only in-flight slot until every request
  // has queued, then the lock is released.
  std::vector<absl::StatusOr<AppendResult>> AppendQueued(
      const std::vector<Request>& requests) {
    const std::string blocker = "blocker-" + NewUuid();
    Seed(blocker, 1);

    StreamLock locker(schema_.name(), blocker);
    absl::StatusOr<AppendResult> blocked;
    std::thread leader([&] {
      blocked = store_->Append(blocker, ExpectedVersion::Exactly(1), {Event()});
    });
    EXPECT_TRUE(store_->AwaitGroupCommit(1, 0, kPatience));

    std::vector<absl::StatusOr<AppendResult>> results(
        requests.size(), absl::UnknownError("not run"));
    std::vector<std::thread> callers;
    for (size_t i = 0; i < requests.size(); ++i) {
      callers.emplace_back([&, i] {
        const Request& request = requests[i];
        results[i] = store_->Append(
            request.stream, ExpectedVersion::Exactly(request.expected),
            request.events,
            request.snapshot.has_value() ? &*request.snapshot : nullptr);
      });
    }
    EXPECT_TRUE(store_->AwaitGroupCommit(1, static_cast<int>(requests.size()),
                                         kPatience));
    locker.Release();
    leader.join();
    for (std::thread& caller : callers) caller.join();
    EXPECT_TRUE(blocked.ok()) << blocked.status();
    return results;
  }

  // AppendQueued, checking that one merged statement carried every request.
  std::vector<absl::StatusOr<AppendResult>> AppendAsOneBatch(
      const std::vector<Request>& requests) {
    const GroupCommitStats before = store_->group_commit_stats();
    std::vector<absl::StatusOr<AppendResult>> results = AppendQueued(requests);
    const GroupCommitStats after = store_->group_commit_stats();
    EXPECT_EQ(after.merged_statements - before.merged_statements, 1);
    EXPECT_EQ(after.merged_appends - before.merged_appends,
              static_cast<int64_t>(requests.size()));
    return results;
  }

  int64_t Version(const std::string& stream) {
    absl::StatusOr<StreamHead> head = store_->ReadHead(stream);
    EXPECT_TRUE(head.ok()) << head.status();
    return head.ok() ? head->version : -1;
  }

  // The stream's due time in Unix seconds, none when NULL.
  std::optional<int64_t> DueAt(const std::string& stream) {
    pqxx::connection connection(TestDsn());
    pqxx::nontransaction tx(connection);
    pqxx::row row = tx.exec_params1(
        absl::StrCat("SELECT extract(epoch FROM due_at)::bigint FROM ",
                     schema_.name(), ".streams WHERE stream_id = $1"),
        stream);
    if (row[0].is_null()) return std::nullopt;
    return row[0].as<int64_t>();
  }

  TestSchema schema_{"es_batch_test"};
  std::unique_ptr<ConnectionPool> pool_;
  std::unique_ptr<EventStore> store_;
};

// Many callers on their own streams: every append lands, histories have no
// gaps, and the statements really carried several appends each.
TEST_F(EventStoreBatchAppendTest, ConcurrentCallersShareStatements) {
  constexpr int kWriters = 32;
  constexpr int kAppends = 40;
  EventStore store(pool_.get(), schema_.name(),
                   EventStoreOptions{.max_batch = 16});
  std::barrier start(kWriters);
  std::atomic<int> failures = 0;
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&, w] {
      const std::string stream = absl::StrCat("load-", w);
      start.arrive_and_wait();
      for (int version = 0; version < kAppends; ++version) {
        absl::StatusOr<AppendResult> result =
            store.Append(stream, ExpectedVersion::Exactly(version), {Event()});
        if (!result.ok() || result->version != version + 1 ||
            result->duplicate) {
          ADD_FAILURE() << stream << " at " << version << ": "
                        << result.status();
          failures.fetch_add(1);
        }
      }
    });
  }
  for (std::thread& writer : writers) writer.join();
  EXPECT_EQ(failures.load(), 0);

  for (int w = 0; w < kWriters; ++w) {
    const std::string stream = absl::StrCat("load-", w);
    absl::StatusOr<std::vector<RecordedEvent>> events =
        store.ReadStreamForward(stream, 1, 1000);
    ASSERT_TRUE(events.ok()) << events.status();
    ASSERT_EQ(events->size(), static_cast<size_t>(kAppends)) << stream;
    for (int i = 0; i < kAppends; ++i) {
      EXPECT_EQ((*events)[i].version, i + 1) << stream;
      if (i > 0) {
        EXPECT_LT((*events)[i - 1].position, (*events)[i].position) << stream;
      }
    }
  }
  const GroupCommitStats stats = store.group_commit_stats();
  EXPECT_GT(stats.merged_statements, 0);
  EXPECT_EQ(stats.merged_fallbacks, 0);
  // Only the first append of each stream (no_stream) bypasses the queue.
  EXPECT_EQ(stats.batched_appends, kWriters * (kAppends - 1));
  EXPECT_GT(stats.batched_appends, 2 * stats.batches)
      << stats.batches << " batches carried " << stats.batched_appends;
}

// Several events per append in one batch: each stream's events are numbered
// from its own version, and the result is its last event.
TEST_F(EventStoreBatchAppendTest, EachStreamGetsItsOwnVersions) {
  Seed("a", 1);
  Seed("b", 3);
  std::vector<absl::StatusOr<AppendResult>> results = AppendAsOneBatch(
      {{"a", 1, {Event(), Event(), Event()}}, {"b", 3, {Event()}}});
  ASSERT_TRUE(results[0].ok()) << results[0].status();
  ASSERT_TRUE(results[1].ok()) << results[1].status();
  EXPECT_EQ(results[0]->version, 4);
  EXPECT_EQ(results[1]->version, 4);
  absl::StatusOr<std::vector<RecordedEvent>> a =
      store_->ReadStreamForward("a", 1, 100);
  ASSERT_TRUE(a.ok());
  ASSERT_EQ(a->size(), 4u);
  EXPECT_EQ(a->back().version, 4);
  EXPECT_EQ(a->back().position, results[0]->position);
  EXPECT_EQ((*a)[1].position.transaction_id,
            results[1]->position.transaction_id)
      << "one statement, one transaction";
}

// A stale expectation in a batch is refused with the actual version and
// writes nothing; the others in the batch are written.
TEST_F(EventStoreBatchAppendTest, StaleExpectationIsRefusedAlone) {
  Seed("a", 1);
  Seed("b", 2);
  Seed("c", 1);
  std::vector<absl::StatusOr<AppendResult>> results =
      AppendAsOneBatch({{"a", 1}, {"b", 1}, {"c", 1}, {"missing", 1}});
  ASSERT_TRUE(results[0].ok()) << results[0].status();
  EXPECT_EQ(results[0]->version, 2);
  ExpectWrongVersion(results[1], 2);
  ASSERT_TRUE(results[2].ok()) << results[2].status();
  EXPECT_EQ(results[2]->version, 2);
  ExpectWrongVersion(results[3], 0);
  EXPECT_EQ(Version("b"), 2);
  EXPECT_EQ(Version("missing"), 0);
  EXPECT_EQ(store_->group_commit_stats().merged_fallbacks, 0);
}

// An event id used by another stream, or a service's unique index, fails
// the merged statement; each append is then written alone, so only the
// offenders get an error.
TEST_F(EventStoreBatchAppendTest, UniqueViolationsFailOnlyTheOffenders) {
  ExecAsAdmin(absl::StrCat("CREATE UNIQUE INDEX k_once ON ", schema_.name(),
                           ".events ((data->>'k'))"));
  const EventData stored = Event(R"({"k":"x"})");
  ASSERT_TRUE(
      store_->Append("owner", ExpectedVersion::NoStream(), {stored}).ok());
  for (const std::string stream : {"a", "b", "c", "d"}) Seed(stream, 1);
  EventData reused_id = Event();
  reused_id.event_id = stored.event_id;

  std::vector<absl::StatusOr<AppendResult>> results =
      AppendAsOneBatch({{"a", 1},
                        {"b", 1, {Event(R"({"k":"x"})")}},
                        {"c", 1, {Event(), reused_id}},
                        {"d", 1}});
  ASSERT_TRUE(results[0].ok()) << results[0].status();
  EXPECT_EQ(results[0]->version, 2);
  EXPECT_THAT(results[1],
              shop::testing::StatusIs(absl::StatusCode::kAlreadyExists,
                                      kUniqueViolationReason));
  ASSERT_TRUE(shop::ErrorInfoOf(results[1].status()).has_value());
  EXPECT_EQ(shop::ErrorInfoOf(results[1].status())->metadata().at("constraint"),
            "k_once");
  EXPECT_EQ(results[2].status().code(), absl::StatusCode::kAlreadyExists)
      << results[2].status();
  ASSERT_TRUE(results[3].ok()) << results[3].status();
  EXPECT_EQ(results[3]->version, 2);
  EXPECT_EQ(Version("b"), 1);
  EXPECT_EQ(Version("c"), 1);
  EXPECT_EQ(store_->group_commit_stats().merged_fallbacks, 1);
}

// A retried append (same event ids) in a batch is a duplicate: success, with
// the version and position of the first write, and nothing written twice.
TEST_F(EventStoreBatchAppendTest, RetriedAppendIsADuplicate) {
  Seed("a", 1);
  Seed("b", 1);
  Seed("c", 1);
  const std::vector<Request> first = {{"a", 1, {Event(), Event()}}, {"b", 1}};
  std::vector<absl::StatusOr<AppendResult>> written = AppendAsOneBatch(first);
  ASSERT_TRUE(written[0].ok()) << written[0].status();
  ASSERT_TRUE(written[1].ok()) << written[1].status();

  std::vector<absl::StatusOr<AppendResult>> retried =
      AppendAsOneBatch({first[0], first[1], {"c", 1}});
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(retried[i].ok()) << retried[i].status();
    EXPECT_TRUE(retried[i]->duplicate);
    EXPECT_EQ(retried[i]->version, written[i]->version);
    EXPECT_EQ(retried[i]->position, written[i]->position);
  }
  ASSERT_TRUE(retried[2].ok()) << retried[2].status();
  EXPECT_FALSE(retried[2]->duplicate);
  EXPECT_EQ(Version("a"), 3);
  EXPECT_EQ(Version("b"), 2);
}

// Snapshots and due times are written per stream exactly as the single
// statement writes them, whichever of them an append carries.
TEST_F(EventStoreBatchAppendTest, SnapshotsAndDueTimesMatchTheSinglePath) {
  const SnapshotWrite initial{R"({"v": 1})", absl::FromUnixSeconds(1000)};
  const std::vector<Request> requests = {
      {"full",
       1,
       {Event(), Event()},
       SnapshotWrite{R"({"v": 2})", absl::FromUnixSeconds(2000)}},
      {"due-only",
       1,
       {Event()},
       SnapshotWrite{std::nullopt, absl::FromUnixSeconds(3000)}},
      {"none", 1, {Event()}, std::nullopt},
      {"no-due", 1, {Event()}, SnapshotWrite{R"({"v": 4})", std::nullopt}},
  };
  EventStore single(pool_.get(), schema_.name());
  for (const Request& request : requests) {
    Seed(request.stream, 1, &initial);
    Seed("single-" + request.stream, 1, &initial);
    std::vector<EventData> events;
    for (size_t i = 0; i < request.events.size(); ++i)
      events.push_back(Event());
    ASSERT_TRUE(
        single
            .Append("single-" + request.stream, ExpectedVersion::Exactly(1),
                    events,
                    request.snapshot.has_value() ? &*request.snapshot : nullptr)
            .ok());
  }
  std::vector<absl::StatusOr<AppendResult>> results =
      AppendAsOneBatch(requests);
  for (size_t i = 0; i < requests.size(); ++i) {
    ASSERT_TRUE(results[i].ok()) << results[i].status();
    const std::string& stream = requests[i].stream;
    absl::StatusOr<StreamHead> batched = store_->ReadHead(stream);
    absl::StatusOr<StreamHead> alone = store_->ReadHead("single-" + stream);
    ASSERT_TRUE(batched.ok() && alone.ok());
    EXPECT_EQ(batched->version, alone->version) << stream;
    EXPECT_EQ(batched->snapshot_json, alone->snapshot_json) << stream;
    EXPECT_EQ(batched->snapshot_version, alone->snapshot_version) << stream;
    EXPECT_EQ(DueAt(stream), DueAt("single-" + stream)) << stream;
  }
  // And what the single path writes, spelled out.
  absl::StatusOr<StreamHead> full = store_->ReadHead("full");
  ASSERT_TRUE(full.ok());
  EXPECT_EQ(full->snapshot_json, R"({"v": 2})");
  EXPECT_EQ(full->snapshot_version, 3);
  EXPECT_EQ(DueAt("full"), 2000);
  absl::StatusOr<StreamHead> due_only = store_->ReadHead("due-only");
  ASSERT_TRUE(due_only.ok());
  EXPECT_EQ(due_only->snapshot_json, R"({"v": 1})");
  EXPECT_EQ(due_only->snapshot_version, 1);
  EXPECT_EQ(DueAt("due-only"), 3000);
  EXPECT_EQ(DueAt("none"), 1000);
  absl::StatusOr<StreamHead> no_due = store_->ReadHead("no-due");
  ASSERT_TRUE(no_due.ok());
  EXPECT_EQ(no_due->snapshot_version, 2);
  EXPECT_EQ(DueAt("no-due"), std::nullopt);
}

// A merged statement carries no more events than one append may; the
// appends that would exceed it wait for the next statement.
TEST_F(EventStoreBatchAppendTest, StatementsAreBoundedInEvents) {
  const size_t big = EventStore::kMaxEventsPerAppend * 2 / 5;
  std::vector<Request> requests;
  for (const char* stream : {"big-a", "big-b", "big-c"}) {
    Seed(stream, 1);
    std::vector<EventData> events;
    for (size_t i = 0; i < big; ++i) events.push_back(Event());
    requests.emplace_back(stream, 1, events);
  }
  const GroupCommitStats before = store_->group_commit_stats();
  std::vector<absl::StatusOr<AppendResult>> results = AppendQueued(requests);
  const GroupCommitStats after = store_->group_commit_stats();
  for (const absl::StatusOr<AppendResult>& result : results) {
    ASSERT_TRUE(result.ok()) << result.status();
    EXPECT_EQ(result->version, static_cast<int64_t>(1 + big));
  }
  // Two fit in one statement; the third is written after them, alone.
  EXPECT_EQ(after.merged_statements - before.merged_statements, 1);
  EXPECT_EQ(after.merged_appends - before.merged_appends, 2);
}

// The default options never queue an append.
TEST_F(EventStoreBatchAppendTest, DefaultOptionsWriteEachAppendAlone) {
  EventStore store(pool_.get(), schema_.name());
  ASSERT_TRUE(store.Append("s", ExpectedVersion::NoStream(), {Event()}).ok());
  ASSERT_TRUE(store.Append("s", ExpectedVersion::Exactly(1), {Event()}).ok());
  const GroupCommitStats stats = store.group_commit_stats();
  EXPECT_EQ(stats.batches, 0);
  EXPECT_EQ(stats.merged_statements, 0);
}

// Answers of appends nobody waits for, as their callbacks deliver them.
class AsyncAnswers final {
 public:
  explicit AsyncAnswers(size_t count)
      : answers_(count, absl::UnknownError("not answered")),
        answered_(count, false) {}

  AppendCallback For(size_t i) {
    return [this, i](absl::StatusOr<AppendResult> answer) {
      absl::MutexLock lock(&mu_);
      answers_[i] = std::move(answer);
      answered_[i] = true;
    };
  }
  // Every answer, once all have come.
  std::vector<absl::StatusOr<AppendResult>> Await() {
    absl::MutexLock lock(&mu_);
    auto all = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return std::all_of(answered_.begin(), answered_.end(),
                         [](bool answered) { return answered; });
    };
    EXPECT_TRUE(mu_.AwaitWithTimeout(absl::Condition(&all), kPatience));
    return answers_;
  }

 private:
  absl::Mutex mu_;
  std::vector<absl::StatusOr<AppendResult>> answers_ ABSL_GUARDED_BY(mu_);
  std::vector<bool> answered_ ABSL_GUARDED_BY(mu_);
};

// Appends nobody waits for share a statement with waiting callers; each
// callback gets its own answer, a stale expectation its refusal.
TEST_F(EventStoreBatchAppendTest, AsyncAppendsShareStatementsAndAnswers) {
  Seed("a", 1);
  Seed("b", 2);
  Seed("c", 1);
  const std::string blocker = "blocker";
  Seed(blocker, 1);
  StreamLock locker(schema_.name(), blocker);
  AsyncAnswers answers(3);
  store_->AppendAsync(blocker, ExpectedVersion::Exactly(1), {Event()},
                      std::nullopt, answers.For(0));
  ASSERT_TRUE(store_->AwaitGroupCommit(1, 0, kPatience));
  store_->AppendAsync("a", ExpectedVersion::Exactly(1), {Event(), Event()},
                      std::nullopt, answers.For(1));
  store_->AppendAsync("b", ExpectedVersion::Exactly(1), {Event()}, std::nullopt,
                      answers.For(2));
  absl::StatusOr<AppendResult> waited;
  std::thread caller([&] {
    waited = store_->Append("c", ExpectedVersion::Exactly(1), {Event()});
  });
  ASSERT_TRUE(store_->AwaitGroupCommit(1, 3, kPatience));
  const GroupCommitStats before = store_->group_commit_stats();
  locker.Release();
  std::vector<absl::StatusOr<AppendResult>> results = answers.Await();
  caller.join();

  ASSERT_TRUE(results[0].ok()) << results[0].status();
  ASSERT_TRUE(results[1].ok()) << results[1].status();
  EXPECT_EQ(results[1]->version, 3);
  ExpectWrongVersion(results[2], 2);
  ASSERT_TRUE(waited.ok()) << waited.status();
  EXPECT_EQ(waited->version, 2);
  const GroupCommitStats after = store_->group_commit_stats();
  EXPECT_EQ(after.merged_statements - before.merged_statements, 1);
  EXPECT_EQ(after.merged_appends - before.merged_appends, 3);
  absl::StatusOr<std::vector<RecordedEvent>> b =
      store_->ReadStreamForward("b", 1, 10);
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(b->size(), 2u);
}

// An append that may create its stream is written alone, and bad input is
// refused before anything is queued.
TEST_F(EventStoreBatchAppendTest, AsyncAppendsOfEveryKind) {
  AsyncAnswers answers(3);
  store_->AppendAsync("new", ExpectedVersion::NoStream(), {Event()},
                      std::nullopt, answers.For(0));
  store_->AppendAsync("any", ExpectedVersion::Any(), {Event(), Event()},
                      std::nullopt, answers.For(1));
  store_->AppendAsync("", ExpectedVersion::Any(), {Event()}, std::nullopt,
                      answers.For(2));
  std::vector<absl::StatusOr<AppendResult>> results = answers.Await();
  ASSERT_TRUE(results[0].ok()) << results[0].status();
  EXPECT_EQ(results[0]->version, 1);
  ASSERT_TRUE(results[1].ok()) << results[1].status();
  EXPECT_EQ(results[1]->version, 2);
  EXPECT_EQ(results[2].status().code(), absl::StatusCode::kInvalidArgument);
}

// A store going away first writes and answers what is queued: an
// acknowledged append is never dropped.
TEST_F(EventStoreBatchAppendTest, AsyncAppendsAreWrittenBeforeTheStoreCloses) {
  constexpr int kAppends = 50;
  AsyncAnswers answers(kAppends);
  {
    EventStore store(pool_.get(), schema_.name(),
                     EventStoreOptions{.max_batch = 16});
    for (int i = 0; i < kAppends; ++i) {
      store.AppendAsync(absl::StrCat("s-", i), ExpectedVersion::NoStream(),
                        {Event()}, std::nullopt, answers.For(i));
    }
  }
  for (const absl::StatusOr<AppendResult>& result : answers.Await()) {
    EXPECT_TRUE(result.ok()) << result.status();
  }
  for (int i = 0; i < kAppends; ++i) {
    absl::StatusOr<StreamHead> head = store_->ReadHead(absl::StrCat("s-", i));
    ASSERT_TRUE(head.ok()) << head.status();
    EXPECT_EQ(head->version, 1);
  }
}

// A callback that appends again while the store is going away is told
// the store is closing; its own append was written.
TEST_F(EventStoreBatchAppendTest, AsyncAppendFromACallbackWhileClosing) {
  Seed("first", 1);
  // The first append waits in the database until the store is closing.
  StreamLock locker(schema_.name(), "first");
  AsyncAnswers answers(2);
  auto store = std::make_unique<EventStore>(pool_.get(), schema_.name(),
                                            EventStoreOptions{.max_batch = 16});
  EventStore* closing = store.get();
  AppendCallback second = answers.For(1);
  store->AppendAsync(
      "first", ExpectedVersion::Exactly(1), {Event()}, std::nullopt,
      [closing, first = answers.For(0), second = std::move(second)](
          absl::StatusOr<AppendResult> answer) mutable {
        std::move(first)(std::move(answer));
        closing->AppendAsync("second", ExpectedVersion::NoStream(), {Event()},
                             std::nullopt, std::move(second));
      });
  ASSERT_TRUE(store->AwaitGroupCommit(1, 0, kPatience));
  std::thread destroyer([&] { store.reset(); });
  // The destructor marks the store closing at once, then waits for the
  // append.
  ASSERT_TRUE(closing->AwaitClosing(kPatience));
  locker.Release();
  destroyer.join();

  std::vector<absl::StatusOr<AppendResult>> results = answers.Await();
  EXPECT_TRUE(results[0].ok()) << results[0].status();
  EXPECT_THAT(results[1],
              shop::testing::StatusIs(absl::StatusCode::kUnavailable));
}

}  // namespace
}  // namespace eventstore
