// The bounds on a write that cannot finish: a stream locked from outside,
// and the backend of an append frozen with SIGSTOP. Each fails its callers
// within the write timeout, holds no other stream's writes behind it, and
// writes nothing for a caller it has answered.
#include <signal.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
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

namespace eventstore {
namespace {

using ::shop::testing::StatusIs;
using ::shop::testing::TestDsn;
using ::shop::testing::TestSchema;

constexpr absl::Duration kTimeout = absl::Milliseconds(500);
// The cut comes a second after the cancel; the rest is a busy machine.
const absl::Duration kAnsweredWithin = kTimeout + absl::Seconds(2);

EventData Event() { return EventData{NewUuid(), "thing.happened", "{}", "{}"}; }

std::string WrittenFact(const absl::Status& status) {
  std::optional<google::rpc::ErrorInfo> info = shop::ErrorInfoOf(status);
  if (!info.has_value()) return "";
  auto it = info->metadata().find(shop::kWrittenFact);
  return it == info->metadata().end() ? "" : it->second;
}

class BoundedWritesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    pool_ = std::make_unique<ConnectionPool>(
        PoolOptions{.dsn = TestDsn(), .size = 12});
    ASSERT_TRUE(Migrate(*pool_, schema_.name(), {}).ok());
    store_ = std::make_unique<EventStore>(
        pool_.get(), schema_.name(),
        EventStoreOptions{
            .max_batch = 64, .max_in_flight = 1, .write_timeout = kTimeout});
    for (const char* stream : {"s0", "s1", "s2", "s3"}) {
      ASSERT_TRUE(
          store_->Append(stream, ExpectedVersion::NoStream(), {Event()}).ok());
    }
  }

  int64_t Version(const std::string& stream) {
    absl::StatusOr<StreamHead> head = store_->ReadHead(stream);
    EXPECT_TRUE(head.ok()) << head.status();
    return head.ok() ? head->version : -1;
  }

  // Appends to s1..s3 one after another until `stop`, as their writers
  // would: every one must succeed, and none may wait long.
  struct OthersLoad {
    std::atomic<int> written = 0;
    std::atomic<int> failed = 0;
    // Only appends that start at or after this count towards slowest_ms.
    std::atomic<int64_t> timed_from_ns = 0;
    std::atomic<int64_t> slowest_ms = 0;
  };
  std::thread AppendToOthers(OthersLoad& load, std::atomic<bool>& stop) {
    return std::thread([this, &load, &stop] {
      int64_t versions[3] = {1, 1, 1};
      for (int i = 0; !stop; i = (i + 1) % 3) {
        const absl::Time start = absl::Now();
        absl::StatusOr<AppendResult> appended =
            store_->Append(absl::StrCat("s", i + 1),
                           ExpectedVersion::Exactly(versions[i]), {Event()});
        const int64_t ms = absl::ToInt64Milliseconds(absl::Now() - start);
        if (absl::ToUnixNanos(start) >= load.timed_from_ns &&
            ms > load.slowest_ms) {
          load.slowest_ms = ms;
        }
        if (appended.ok()) {
          versions[i] = appended->version;
          ++load.written;
        } else {
          ++load.failed;
        }
      }
    });
  }

  // The backend whose statement on this schema waits for a lock.
  int WaitingBackend() {
    pqxx::connection connection(TestDsn());
    for (absl::Time end = absl::Now() + absl::Seconds(10); absl::Now() < end;
         absl::SleepFor(absl::Milliseconds(10))) {
      pqxx::nontransaction tx(connection);
      pqxx::result rows = tx.exec_params(
          "SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
          "AND position($1 in query) > 0",
          schema_.name() + ".");
      if (!rows.empty()) return rows[0][0].as<int>();
    }
    return -1;
  }

  TestSchema schema_{"bounded"};
  std::unique_ptr<ConnectionPool> pool_;
  std::unique_ptr<EventStore> store_;
};

// An outside transaction holds s0's row: the append to s0 is cancelled at
// the write timeout (nothing written), s0 is then written alone, and s1-s3
// keep being written the whole time, none waiting much past the bound.
TEST_F(BoundedWritesTest, AStreamLockedFromOutsideHoldsNoOtherStream) {
  pqxx::connection outside(TestDsn());
  pqxx::work lock(outside);
  lock.exec(absl::StrCat("SELECT 1 FROM ", schema_.name(),
                         ".streams WHERE stream_id = 's0' FOR UPDATE"));
  OthersLoad load;
  std::atomic<bool> stop = false;
  std::thread others = AppendToOthers(load, stop);

  int written_while_isolated = 0;
  for (int round = 0; round < 3; ++round) {
    // From the second round on s0 is written alone, beside the batches.
    if (round == 1) {
      load.timed_from_ns = absl::ToUnixNanos(absl::Now());
      load.slowest_ms = 0;
      written_while_isolated = -load.written;
    }
    const absl::Time start = absl::Now();
    absl::StatusOr<AppendResult> blocked =
        store_->Append("s0", ExpectedVersion::Exactly(1), {Event()});
    const absl::Duration took = absl::Now() - start;
    EXPECT_THAT(blocked.status(),
                StatusIs(absl::StatusCode::kUnavailable, "WRITE_TIMED_OUT"));
    EXPECT_EQ(WrittenFact(blocked.status()), "no");
    EXPECT_GE(took, kTimeout);
    EXPECT_LT(took, kAnsweredWithin);
  }
  written_while_isolated += load.written;
  stop = true;
  others.join();
  EXPECT_EQ(load.failed, 0);
  // Behind s0 in the one batch slot, they would each wait the bound.
  EXPECT_GT(written_while_isolated, 10);
  EXPECT_LT(load.slowest_ms, absl::ToInt64Milliseconds(kTimeout));
  EXPECT_EQ(Version("s0"), 1);

  lock.commit();
  EXPECT_TRUE(
      store_->Append("s0", ExpectedVersion::Exactly(1), {Event()}).ok());
}

// The backend of an append is frozen (SIGSTOP) while it waits: its caller
// hears UNAVAILABLE within the bound (the connection is cut: the outcome is
// unknown to it), other streams are written meanwhile, and once the backend
// runs again the cancel it was sent rolls the append back.
TEST_F(BoundedWritesTest, AFrozenBackendFailsItsCallerInTimeAndWritesNothing) {
  auto lock = std::make_unique<pqxx::connection>(TestDsn());
  auto work = std::make_unique<pqxx::work>(*lock);
  work->exec(absl::StrCat("SELECT 1 FROM ", schema_.name(),
                          ".streams WHERE stream_id = 's0' FOR UPDATE"));
  absl::StatusOr<AppendResult> frozen = absl::UnknownError("not run");
  absl::Duration took;
  std::thread caller([&] {
    const absl::Time start = absl::Now();
    frozen = store_->Append("s0", ExpectedVersion::Exactly(1), {Event()});
    took = absl::Now() - start;
  });
  const int backend = WaitingBackend();
  ASSERT_GT(backend, 0) << "no append waited for the lock";
  ASSERT_EQ(kill(backend, SIGSTOP), 0)
      << "cannot stop backend " << backend << " (the test runs as root)";
  // The frozen backend is granted the row and keeps it.
  work->commit();

  OthersLoad load;
  std::atomic<bool> stop = false;
  std::thread others = AppendToOthers(load, stop);
  caller.join();
  EXPECT_THAT(frozen.status(),
              StatusIs(absl::StatusCode::kUnavailable, "WRITE_TIMED_OUT"));
  EXPECT_LT(took, kAnsweredWithin);
  absl::SleepFor(absl::Seconds(1));
  stop = true;
  others.join();

  kill(backend, SIGCONT);
  EXPECT_EQ(load.failed, 0);
  EXPECT_GT(load.written, 10);
  // The resumed backend gives the row up without writing.
  absl::StatusOr<AppendResult> after;
  for (absl::Time end = absl::Now() + absl::Seconds(10); absl::Now() < end;) {
    after = store_->Append("s0", ExpectedVersion::Exactly(1), {Event()});
    if (after.ok()) break;
  }
  EXPECT_TRUE(after.ok()) << after.status();
  EXPECT_EQ(Version("s0"), 2);
}

}  // namespace
}  // namespace eventstore
