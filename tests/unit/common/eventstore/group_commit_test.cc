// Group commit's machine against a writer that only records its
// statements: who leads, who rides, what shares a statement, and what each
// member is answered after each kind of outcome.
#include "common/eventstore/group_commit.h"

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/errors/errors.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/status_matchers.h"

namespace eventstore {
namespace {

using ::shop::testing::StatusIs;
using ::testing::ElementsAre;

constexpr absl::Duration kPatience = absl::Seconds(10);

// Writes nothing: records each statement's streams, and answers as told.
// While `held`, every statement waits for Release().
class RecordingWriter final : public GroupWriter {
 public:
  absl::StatusOr<AppendResult> WriteAlone(const AppendArgs& append) override {
    Enter({append.stream}, /*merged=*/false);
    if (alone_answer) return alone_answer(append);
    return Written(append);
  }
  Merged WriteMerged(const std::vector<AppendArgs>& batch,
                     absl::Time) override {
    std::vector<std::string> streams;
    for (const AppendArgs& append : batch) streams.push_back(append.stream);
    Enter(streams, /*merged=*/true);
    if (merged_answer) return merged_answer(batch);
    Merged merged;
    for (const AppendArgs& append : batch) {
      merged.written.push_back(*Written(append));
    }
    return merged;
  }
  absl::StatusOr<AppendResult> ResolveRefused(
      const AppendArgs& append) override {
    absl::MutexLock lock(&mu_);
    resolved_.push_back(append.stream);
    return WrongExpectedVersionError(append.stream, append.expected,
                                     append.expected.version() + 1);
  }

  static absl::StatusOr<AppendResult> Written(const AppendArgs& append) {
    AppendResult result;
    result.version =
        append.expected.version() + static_cast<int64_t>(append.events.size());
    return result;
  }

  void Hold() {
    absl::MutexLock lock(&mu_);
    held_ = true;
  }
  void Release() {
    absl::MutexLock lock(&mu_);
    held_ = false;
  }
  // Statements as "a" (alone) or "m:a,b" (merged), in the order begun.
  std::vector<std::string> statements() const {
    absl::MutexLock lock(&mu_);
    return statements_;
  }
  bool AwaitStatements(size_t count, absl::Duration timeout) {
    absl::MutexLock lock(&mu_);
    auto begun = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return statements_.size() >= count;
    };
    return mu_.AwaitWithTimeout(absl::Condition(&begun), timeout);
  }
  std::vector<std::string> resolved() const {
    absl::MutexLock lock(&mu_);
    return resolved_;
  }

  std::function<absl::StatusOr<AppendResult>(const AppendArgs&)> alone_answer;
  std::function<Merged(const std::vector<AppendArgs>&)> merged_answer;

 private:
  void Enter(const std::vector<std::string>& streams, bool merged) {
    absl::MutexLock lock(&mu_);
    std::string name = merged ? "m:" : "";
    for (size_t i = 0; i < streams.size(); ++i) {
      name += (i > 0 ? "," : "") + streams[i];
    }
    statements_.push_back(name);
    mu_.Await(absl::Condition(
        +[](bool* held) { return !*held; }, &held_));
  }

  mutable absl::Mutex mu_;
  bool held_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::string> statements_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> resolved_ ABSL_GUARDED_BY(mu_);
};

// A merged statement that failed as a whole.
GroupWriter::Merged Failed(absl::Status status, bool not_written = false) {
  GroupWriter::Merged merged;
  merged.status = std::move(status);
  merged.not_written = not_written;
  return merged;
}

// A waited-for append on its own thread, with its own arguments.
class Caller {
 public:
  Caller(GroupCommit& group, std::string stream, int64_t expected,
         absl::Time deadline = absl::InfiniteFuture())
      : stream_(std::move(stream)),
        expected_(ExpectedVersion::Exactly(expected)),
        events_(1) {
    thread_ = std::thread([this, &group, deadline] {
      result_ = group.Append({stream_, expected_, events_, nullptr, deadline});
    });
  }
  const absl::StatusOr<AppendResult>& Join() {
    thread_.join();
    return result_;
  }

 private:
  std::string stream_;
  ExpectedVersion expected_;
  std::vector<EventData> events_;
  absl::StatusOr<AppendResult> result_ = absl::UnknownError("not run");
  std::thread thread_;
};

class GroupCommitTest : public ::testing::Test {
 protected:
  void Start(int max_batch, int max_in_flight = 1) {
    GroupCommitOptions options;
    options.max_batch = max_batch;
    options.max_in_flight = max_in_flight;
    group_ = std::make_unique<GroupCommit>(&writer_, options);
  }
  // One caller holding the only slot, then `streams` queued behind it.
  std::vector<std::unique_ptr<Caller>> QueueBehindALeader(
      const std::vector<std::string>& streams) {
    writer_.Hold();
    std::vector<std::unique_ptr<Caller>> callers;
    callers.push_back(std::make_unique<Caller>(*group_, "leader", 1));
    EXPECT_TRUE(writer_.AwaitStatements(1, kPatience));
    // One at a time, so the queue's order is the list's.
    for (size_t i = 0; i < streams.size(); ++i) {
      callers.push_back(std::make_unique<Caller>(*group_, streams[i], 1));
      EXPECT_TRUE(group_->AwaitBusy(1, static_cast<int>(i + 1), kPatience));
    }
    return callers;
  }

  RecordingWriter writer_;
  std::unique_ptr<GroupCommit> group_;
};

// Appends that queue while a statement is in flight ride in the next one,
// together, and each gets its own stream's answer.
TEST_F(GroupCommitTest, QueuedAppendsOfOtherStreamsShareTheNextStatement) {
  Start(/*max_batch=*/8);
  auto callers = QueueBehindALeader({"c", "a", "b"});
  writer_.Release();
  for (auto& caller : callers) {
    const absl::StatusOr<AppendResult>& result = caller->Join();
    ASSERT_TRUE(result.ok()) << result.status();
    EXPECT_EQ(result->version, 2);
  }
  // Sorted by stream: one lock order for every statement.
  EXPECT_THAT(writer_.statements(), ElementsAre("leader", "m:a,b,c"));
  const GroupCommitStats stats = group_->stats();
  EXPECT_EQ(stats.batches, 2);
  EXPECT_EQ(stats.merged_statements, 1);
  EXPECT_EQ(stats.merged_appends, 3);
}

// Two appends of one stream never share a statement, and a statement
// carries at most max_batch appends.
TEST_F(GroupCommitTest, OneAppendPerStreamAndAtMostMaxBatchPerStatement) {
  Start(/*max_batch=*/2);
  auto callers = QueueBehindALeader({"a", "a", "b", "c"});
  writer_.Release();
  for (auto& caller : callers) EXPECT_TRUE(caller->Join().ok());
  EXPECT_THAT(writer_.statements(), ElementsAre("leader", "m:a,b", "m:a,c"));
}

// With max_batch 1 nothing is merged: each append is its own statement.
TEST_F(GroupCommitTest, MaxBatchOneWritesEveryAppendAlone) {
  Start(/*max_batch=*/1);
  EXPECT_FALSE(group_->Shares(ExpectedVersion::Exactly(3)));
  std::vector<std::string> done;
  absl::Mutex mu;
  for (const char* stream : {"a", "b"}) {
    group_->AppendAsync(
        {stream, ExpectedVersion::Exactly(1), std::vector<EventData>(1), {}},
        absl::InfiniteFuture(),
        [&, stream](absl::StatusOr<AppendResult> result) {
          EXPECT_TRUE(result.ok());
          absl::MutexLock lock(&mu);
          done.push_back(stream);
        });
  }
  group_->Close();
  EXPECT_EQ(done.size(), 2u);
  EXPECT_THAT(writer_.statements(), ::testing::UnorderedElementsAre("a", "b"));
}

// Only exact versions of existing streams share: a merged UPDATE cannot
// create a stream.
TEST_F(GroupCommitTest, OnlyExactVersionsOfExistingStreamsShare) {
  Start(/*max_batch=*/8);
  EXPECT_TRUE(group_->Shares(ExpectedVersion::Exactly(3)));
  EXPECT_FALSE(group_->Shares(ExpectedVersion::NoStream()));
  EXPECT_FALSE(group_->Shares(ExpectedVersion::Any()));
  EXPECT_FALSE(group_->Shares(ExpectedVersion::StreamExists()));
}

// A member whose expectation the merged statement found broken is looked
// into on its own; the others keep their results.
TEST_F(GroupCommitTest, AMemberTheStatementRefusedIsResolvedOnItsOwn) {
  Start(/*max_batch=*/8);
  writer_.merged_answer = [](const std::vector<AppendArgs>& batch) {
    GroupWriter::Merged merged;
    for (const AppendArgs& append : batch) {
      merged.written.push_back(
          append.stream == "b"
              ? std::nullopt
              : std::optional(*RecordingWriter::Written(append)));
    }
    return merged;
  };
  auto callers = QueueBehindALeader({"a", "b"});
  writer_.Release();
  EXPECT_TRUE(callers[0]->Join().ok());
  EXPECT_TRUE(callers[1]->Join().ok());
  EXPECT_THAT(callers[2]->Join(),
              StatusIs(absl::StatusCode::kAborted, "WRONG_EXPECTED_VERSION"));
  EXPECT_THAT(writer_.resolved(), ElementsAre("b"));
}

// A merged statement that fails for what may be one member's fault is
// re-run one append at a time, so the others are still written.
TEST_F(GroupCommitTest, AFailedStatementIsRerunOneAppendAtATime) {
  Start(/*max_batch=*/8);
  writer_.merged_answer = [](const std::vector<AppendArgs>&) {
    return Failed(absl::InternalError("deadlock"));
  };
  auto callers = QueueBehindALeader({"a", "b"});
  writer_.Release();
  for (auto& caller : callers) EXPECT_TRUE(caller->Join().ok());
  EXPECT_THAT(writer_.statements(),
              ::testing::UnorderedElementsAre("leader", "m:a,b", "a", "b"));
  EXPECT_EQ(group_->stats().merged_fallbacks, 1);
}

// A lost server fails every member at once: running each again alone
// would only wait for it once per member.
TEST_F(GroupCommitTest, ALostServerFailsEveryMemberWithoutRerun) {
  Start(/*max_batch=*/8);
  writer_.merged_answer = [](const std::vector<AppendArgs>&) {
    return Failed(absl::UnavailableError("gone"));
  };
  auto callers = QueueBehindALeader({"a", "b"});
  writer_.Release();
  EXPECT_TRUE(callers[0]->Join().ok());
  EXPECT_THAT(callers[1]->Join(), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(callers[2]->Join(), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(writer_.statements(), ElementsAre("leader", "m:a,b"));
  EXPECT_EQ(group_->stats().merged_fallbacks, 0);
}

// A statement cancelled at its bound wrote nothing, and which stream held
// it up is unknown: each member is written alone.
TEST_F(GroupCommitTest, AStatementCancelledUnwrittenIsWrittenAloneAfter) {
  Start(/*max_batch=*/8);
  writer_.merged_answer = [](const std::vector<AppendArgs>&) {
    return Failed(shop::MakeError(absl::StatusCode::kUnavailable, "eventstore",
                                  kWriteTimedOutReason, "cancelled"),
                  /*not_written=*/true);
  };
  auto callers = QueueBehindALeader({"a", "b"});
  writer_.Release();
  for (auto& caller : callers) EXPECT_TRUE(caller->Join().ok());
  EXPECT_THAT(writer_.statements(),
              ::testing::UnorderedElementsAre("leader", "m:a,b", "a", "b"));
}

// An append whose deadline passes while it is queued is answered and
// never written.
TEST_F(GroupCommitTest, AnAppendPastItsDeadlineInTheQueueIsNeverWritten) {
  Start(/*max_batch=*/8);
  writer_.Hold();
  Caller leader(*group_, "leader", 1);
  ASSERT_TRUE(writer_.AwaitStatements(1, kPatience));
  Caller late(*group_, "late", 1, absl::Now() - absl::Seconds(1));
  ASSERT_TRUE(group_->AwaitBusy(1, 1, kPatience));
  writer_.Release();
  EXPECT_TRUE(leader.Join().ok());
  EXPECT_THAT(late.Join(), StatusIs(absl::StatusCode::kDeadlineExceeded,
                                    kDeadlinePassedReason));
  EXPECT_THAT(writer_.statements(), ElementsAre("leader"));
}

// An isolated stream's append is written alone at once, beside a batch in
// flight; once isolation ends it queues like any other.
TEST_F(GroupCommitTest, AnIsolatedStreamIsWrittenAloneBesideTheBatches) {
  Start(/*max_batch=*/8);
  const std::string stream = "stuck";
  group_->Isolate({&stream});
  writer_.Hold();
  Caller leader(*group_, "leader", 1);
  ASSERT_TRUE(writer_.AwaitStatements(1, kPatience));
  // The writer holds every statement, this one too: it has begun anyway.
  Caller isolated(*group_, stream, 1);
  ASSERT_TRUE(writer_.AwaitStatements(2, kPatience));
  group_->EndIsolation(stream);
  Caller queued(*group_, stream, 2);
  EXPECT_TRUE(group_->AwaitBusy(1, 1, kPatience));
  writer_.Release();
  EXPECT_TRUE(leader.Join().ok());
  EXPECT_TRUE(isolated.Join().ok());
  EXPECT_TRUE(queued.Join().ok());
  EXPECT_THAT(writer_.statements(), ElementsAre("leader", stream, stream));
}

// Appends nobody waits for are each answered exactly once, those queued
// at Close() included; after it, new ones are refused at once.
TEST_F(GroupCommitTest, UnwaitedAppendsAreAnsweredOnceAndCloseDrainsThem) {
  Start(/*max_batch=*/8);
  absl::Mutex mu;
  std::vector<int> answers(20, 0);
  writer_.Hold();
  for (int i = 0; i < 20; ++i) {
    group_->AppendAsync({absl::StrCat("s", i % 5),
                         ExpectedVersion::Exactly(1),
                         std::vector<EventData>(1),
                         {}},
                        absl::InfiniteFuture(),
                        [&, i](absl::StatusOr<AppendResult> result) {
                          EXPECT_TRUE(result.ok()) << result.status();
                          absl::MutexLock lock(&mu);
                          ++answers[i];
                        });
  }
  std::thread closer([&] { group_->Close(); });
  ASSERT_TRUE(group_->AwaitClosing(kPatience));
  absl::Status refused;
  group_->AppendAsync(
      {"s0", ExpectedVersion::Exactly(1), std::vector<EventData>(1), {}},
      absl::InfiniteFuture(),
      [&](absl::StatusOr<AppendResult> result) { refused = result.status(); });
  EXPECT_THAT(refused, StatusIs(absl::StatusCode::kUnavailable));
  writer_.Release();
  closer.join();
  EXPECT_THAT(answers, ::testing::Each(1));
}

}  // namespace
}  // namespace eventstore
