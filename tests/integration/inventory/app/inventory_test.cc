#include "services/inventory/app/inventory.h"

#include <map>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "common/errors/errors.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "pqxx/pqxx"
#include "tests/support/inventory_harness.h"

namespace inventory {
namespace {

using ::shop::testing::InventoryHarness;
using ::shop::testing::TestSchema;
using ::testing::HasSubstr;

class InventoryTest : public ::testing::Test {
 protected:
  void AddProduct(InventoryHarness& harness, int64_t quantity) {
    ASSERT_TRUE(harness.app()
                    .RunAndWait("p",
                                AddProductCommand{"Product", 100, quantity},
                                CallContext{})
                    .ok());
  }
  absl::StatusOr<Outcome> Reserve(InventoryHarness& harness, int i) {
    CallContext context;
    context.metadata.request_id = absl::StrCat("req-", i);
    return harness.app().RunAndWait(
        "p", ReserveStockCommand{1, absl::StrCat("r-", i), absl::Minutes(15)},
        context);
  }
  std::vector<eventstore::RecordedEvent> History(InventoryHarness& harness) {
    absl::StatusOr<std::vector<eventstore::RecordedEvent>> events =
        harness.app().ListEvents("p", 1, 10000);
    EXPECT_TRUE(events.ok()) << events.status();
    return events.ok() ? *events : std::vector<eventstore::RecordedEvent>{};
  }

  TestSchema schema_{"inventory_app"};
  InventoryHarness harness_{schema_.name()};
};

// A command whose answer needs the product's history (releasing a
// reservation that already ended) does not read it on the caller's thread,
// even when the product is in memory: the call returns at once and the
// answer follows once the database can be read.
TEST_F(InventoryTest, HistoryIsReadOffTheCallersThread) {
  AddProduct(harness_, 10);
  ASSERT_TRUE(Reserve(harness_, 1).ok());
  ASSERT_TRUE(
      harness_.app().RunAndWait("p", ReleaseStockCommand{"r-1"}, {}).ok());

  // Every read of the events waits behind this lock.
  pqxx::connection blocker(shop::testing::TestDsn());
  pqxx::work lock(blocker);
  lock.exec("LOCK TABLE " + schema_.name() +
            ".events IN ACCESS EXCLUSIVE MODE");
  absl::Notification returned, answered;
  absl::StatusOr<Outcome> outcome = absl::UnknownError("unset");
  std::thread caller([&] {
    harness_.app().Run("p", ReleaseStockCommand{"r-1"}, {},
                       [&](absl::StatusOr<Outcome> result) {
                         outcome = std::move(result);
                         answered.Notify();
                       });
    returned.Notify();
  });
  EXPECT_TRUE(returned.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_FALSE(answered.HasBeenNotified());
  lock.commit();
  ASSERT_TRUE(answered.WaitForNotificationWithTimeout(absl::Seconds(30)));
  caller.join();
  ASSERT_TRUE(outcome.ok()) << outcome.status();
  EXPECT_TRUE(outcome->events.empty());
}

// Callers racing on one product share appends, yet each gets the version of
// its own event, and each event carries its own caller's metadata.
TEST_F(InventoryTest, RacingCommandsKeepTheirOwnAnswersAndMetadata) {
  AddProduct(harness_, 30);
  constexpr int kCallers = 48;
  std::vector<absl::StatusOr<Outcome>> outcomes(kCallers,
                                                absl::UnknownError("unset"));
  std::vector<std::thread> threads;
  for (int i = 0; i < kCallers; ++i) {
    threads.emplace_back([&, i] { outcomes[i] = Reserve(harness_, i); });
  }
  for (std::thread& thread : threads) thread.join();

  std::map<int64_t, int> caller_of_version;
  int refused = 0;
  for (int i = 0; i < kCallers; ++i) {
    if (!outcomes[i].ok()) {
      EXPECT_EQ(outcomes[i].status().code(),
                absl::StatusCode::kFailedPrecondition);
      EXPECT_EQ(shop::ReasonOf(outcomes[i].status()), "INSUFFICIENT_STOCK");
      ++refused;
      continue;
    }
    ASSERT_TRUE(outcomes[i]->reservation.has_value());
    EXPECT_EQ(outcomes[i]->reservation->quantity, 1);
    EXPECT_TRUE(caller_of_version.emplace(outcomes[i]->version, i).second)
        << "two callers were told version " << outcomes[i]->version;
  }
  EXPECT_EQ(refused, kCallers - 30);
  ASSERT_EQ(caller_of_version.size(), 30u);

  std::vector<eventstore::RecordedEvent> history = History(harness_);
  ASSERT_EQ(history.size(), 31u);
  for (const auto& [version, caller] : caller_of_version) {
    const eventstore::RecordedEvent& event = history[version - 1];
    EXPECT_EQ(event.version, version);
    EXPECT_EQ(event.type, "stock.reserved");
    EXPECT_THAT(event.data_json, HasSubstr(absl::StrCat("\"r-", caller, "\"")));
    EXPECT_THAT(event.metadata_json,
                HasSubstr(absl::StrCat("\"req-", caller, "\"")));
  }
  absl::StatusOr<LoadedProduct> stock = harness_.app().GetStock("p");
  ASSERT_TRUE(stock.ok());
  EXPECT_EQ(stock->product.reserved(), 30);
  EXPECT_EQ(stock->product.available(), 0);
}

// When one command of a shared append reuses a reservation id, only that
// command is refused; the others of the batch are written.
TEST_F(InventoryTest, ReusedIdInABatchFailsOnlyItsOwnCommand) {
  AddProduct(harness_, 100);
  ASSERT_TRUE(
      harness_.app()
          .RunAndWait("p", ReserveStockCommand{1, "old", absl::Minutes(15)}, {})
          .ok());
  ASSERT_TRUE(
      harness_.app().RunAndWait("p", ReleaseStockCommand{"old"}, {}).ok());

  // The product's row is locked, so the next write waits in the database
  // and the commands after it queue for one shared append.
  pqxx::connection blocker(shop::testing::TestDsn());
  pqxx::work lock(blocker);
  lock.exec_params("SELECT 1 FROM " + schema_.name() +
                       ".streams WHERE stream_id = $1 FOR UPDATE",
                   StreamOf("p"));
  std::vector<std::thread> threads;
  std::vector<absl::StatusOr<Outcome>> outcomes(6, absl::UnknownError(""));
  threads.emplace_back([&] { outcomes[0] = Reserve(harness_, 0); });
  for (int i = 1; i < 5; ++i) {
    // Each waits in the queue before the next one starts.
    const absl::Time deadline = absl::Now() + absl::Seconds(10);
    while (harness_.app().Queued("p") < static_cast<size_t>(i - 1) &&
           absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(1));
    }
    threads.emplace_back([&, i] { outcomes[i] = Reserve(harness_, i); });
  }
  threads.emplace_back([&] {
    outcomes[5] = harness_.app().RunAndWait(
        "p", ReserveStockCommand{1, "old", absl::Minutes(15)}, {});
  });
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (harness_.app().Queued("p") < 5 && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(1));
  }
  ASSERT_EQ(harness_.app().Queued("p"), 5u);
  lock.commit();
  for (std::thread& thread : threads) thread.join();

  for (int i = 0; i < 5; ++i) EXPECT_TRUE(outcomes[i].ok()) << i;
  ASSERT_FALSE(outcomes[5].ok());
  EXPECT_EQ(outcomes[5].status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(shop::ReasonOf(outcomes[5].status()), "RESERVATION_RELEASED");
  absl::StatusOr<LoadedProduct> stock = harness_.app().GetStock("p");
  ASSERT_TRUE(stock.ok());
  EXPECT_EQ(stock->product.reserved(), 5);
  EXPECT_EQ(stock->version, 3 + 5);
}

// A product holding many reservations is not re-snapshotted on every write,
// and a replica without a cache still loads it exactly.
TEST_F(InventoryTest, SnapshotOfManyReservationsIsWrittenEveryFewEvents) {
  AddProduct(harness_, 100);
  for (int i = 0; i < 40; ++i) ASSERT_TRUE(Reserve(harness_, i).ok());
  absl::StatusOr<eventstore::StreamHead> head =
      harness_.events().ReadHead(StreamOf("p"));
  ASSERT_TRUE(head.ok());
  EXPECT_EQ(head->version, 41);
  EXPECT_LT(head->snapshot_version, head->version);
  EXPECT_LE(head->version - head->snapshot_version, 1 + 40);

  InventoryHarness replica(schema_.name());
  absl::StatusOr<LoadedProduct> loaded = replica.app().GetStock("p");
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(loaded->version, 41);
  EXPECT_EQ(loaded->product.reserved(), 40);
  EXPECT_EQ(loaded->product.reservations().size(), 40u);
  EXPECT_TRUE(loaded->product.reservations().contains("r-39"));
  // The replica writes on top of the state it folded.
  absl::StatusOr<Outcome> more = Reserve(replica, 40);
  ASSERT_TRUE(more.ok()) << more.status();
  EXPECT_EQ(more->version, 42);
  EXPECT_EQ(more->available, 100 - 41);
}

// Expiry returns every overdue unit, even more than one decision holds.
TEST_F(InventoryTest, SweepExpiresEverythingOverdueInTurns) {
  constexpr int kReservations = kMaxExpiriesPerDecision + 20;
  AddProduct(harness_, kReservations);
  for (int i = 0; i < kReservations; ++i) {
    ASSERT_TRUE(Reserve(harness_, i).ok());
  }
  harness_.clock().Advance(absl::Minutes(16));
  int expired = 0;
  for (int pass = 0; pass < 10; ++pass) {
    absl::StatusOr<int> n = harness_.app().ExpireDue(10);
    ASSERT_TRUE(n.ok()) << n.status();
    if (*n == 0) break;
    EXPECT_LE(*n, kMaxExpiriesPerDecision);
    expired += *n;
  }
  EXPECT_EQ(expired, kReservations);
  absl::StatusOr<LoadedProduct> stock = harness_.app().GetStock("p");
  ASSERT_TRUE(stock.ok());
  EXPECT_EQ(stock->product.reserved(), 0);
  EXPECT_EQ(stock->product.available(), kReservations);
}

// Commands queued together are answered as if one at a time: a repeated
// commit after a commit in the same batch is a no-op, not NOT_FOUND,
// although history in the database does not show the first one yet.
TEST_F(InventoryTest, ARepeatInOneBatchSeesTheBatchBeforeIt) {
  AddProduct(harness_, 10);
  ASSERT_TRUE(Reserve(harness_, 0).ok());
  ASSERT_TRUE(Reserve(harness_, 1).ok());
  ASSERT_TRUE(
      harness_.app().RunAndWait("p", ReleaseStockCommand{"r-0"}, {}).ok());

  // Declared first: they outlive the calls even when an assertion fails.
  struct Answer {
    absl::Notification done;
    absl::StatusOr<Outcome> result = absl::UnknownError("unset");
  };
  Answer received, released, committed, recommitted;
  // The product's next append waits behind this lock, and the commands
  // below queue behind it, to be decided as one batch.
  pqxx::connection blocker(shop::testing::TestDsn());
  pqxx::work lock(blocker);
  lock.exec("LOCK TABLE " + schema_.name() +
            ".events IN ACCESS EXCLUSIVE MODE");
  auto into = [](Answer& answer) {
    return [&answer](absl::StatusOr<Outcome> result) {
      answer.result = std::move(result);
      answer.done.Notify();
    };
  };
  harness_.app().Run(
      "p", ReceiveStockCommand{.quantity = 1, .reference = "delivery"}, {},
      into(received));
  ASSERT_TRUE(harness_.events().AwaitGroupCommit(1, 0, absl::Seconds(10)));
  harness_.app().Run("p", ReleaseStockCommand{"r-0"}, {}, into(released));
  harness_.app().Run("p", CommitReservationCommand{"r-1", "order-1"}, {},
                     into(committed));
  harness_.app().Run("p", CommitReservationCommand{"r-1", "order-1"}, {},
                     into(recommitted));
  lock.commit();

  for (Answer* answer : {&received, &released, &committed, &recommitted}) {
    ASSERT_TRUE(answer->done.WaitForNotificationWithTimeout(absl::Seconds(30)));
    ASSERT_TRUE(answer->result.ok()) << answer->result.status();
  }
  EXPECT_TRUE(released.result->events.empty());
  EXPECT_EQ(committed.result->events.size(), 1u);
  EXPECT_TRUE(recommitted.result->events.empty());
}

// A product that cannot be loaded does not stop the sweep for the others.
TEST_F(InventoryTest, SweepGoesOnPastAProductItCannotLoad) {
  ASSERT_TRUE(harness_.app()
                  .RunAndWait("broken", AddProductCommand{"Broken", 100, 5}, {})
                  .ok());
  ASSERT_TRUE(harness_.app()
                  .RunAndWait("broken",
                              ReserveStockCommand{1, "rb", absl::Minutes(1)},
                              {})
                  .ok());
  AddProduct(harness_, 5);
  ASSERT_TRUE(
      harness_.app()
          .RunAndWait("p", ReserveStockCommand{1, "rp", absl::Minutes(2)}, {})
          .ok());
  pqxx::connection connection(shop::testing::TestDsn());
  pqxx::work work(connection);
  work.exec("UPDATE " + schema_.name() +
            ".streams SET snapshot = '{\"onHand\": \"many\"}' "
            "WHERE stream_id = 'product-broken'");
  work.commit();

  // A replica holding neither product in memory; "broken" is due first.
  InventoryHarness replica(schema_.name());
  replica.clock().Advance(absl::Minutes(3));
  absl::StatusOr<int> expired = replica.app().ExpireDue(100);
  ASSERT_TRUE(expired.ok()) << expired.status();
  EXPECT_EQ(*expired, 1);
}

// A movement repeated after its effect shows in the state (the units left
// or came back) is its first answer, not a refusal by the rule that
// would stop a new one: the refusal is checked against history.
TEST_F(InventoryTest, RepeatsAfterTheirEffectAreTheFirstAnswer) {
  AddProduct(harness_, 4);
  ASSERT_TRUE(Reserve(harness_, 0).ok());
  ASSERT_TRUE(harness_.app()
                  .RunAndWait("p", CommitReservationCommand{"r-0", "o-1"}, {})
                  .ok());
  const ShipStockCommand ship{"o-1", "s-1", 1};
  ASSERT_TRUE(harness_.app().RunAndWait("p", ship, {}).ok());
  const ReturnStockCommand give_back{"o-1",
                                     "ret-1",
                                     "",
                                     1,
                                     v1::RETURN_REASON_DEFECTIVE,
                                     v1::RETURN_CONDITION_RESELLABLE};
  ASSERT_TRUE(harness_.app().RunAndWait("p", give_back, {}).ok());
  for (int round = 0; round < 2; ++round) {
    absl::StatusOr<Outcome> shipped = harness_.app().RunAndWait("p", ship, {});
    ASSERT_TRUE(shipped.ok()) << shipped.status();
    EXPECT_TRUE(shipped->events.empty());
    ASSERT_NE(shipped->Written<v1::StockShipped>(), nullptr);
    EXPECT_EQ(shipped->Written<v1::StockShipped>()->quantity(), 1);
    absl::StatusOr<Outcome> returned =
        harness_.app().RunAndWait("p", give_back, {});
    ASSERT_TRUE(returned.ok()) << returned.status();
    EXPECT_TRUE(returned->events.empty());
  }
  // Different content under the same id is still a refusal.
  EXPECT_EQ(harness_.app()
                .RunAndWait("p", ShipStockCommand{"o-1", "s-1", 2}, {})
                .status()
                .code(),
            absl::StatusCode::kFailedPrecondition);
  // And a new movement the rule forbids is refused, history or not.
  EXPECT_EQ(harness_.app()
                .RunAndWait("p", ShipStockCommand{"o-1", "s-2", 1}, {})
                .status()
                .code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(History(harness_).size(), 5u);
}

// A reservation id used before is refused by the index, and the command
// then reads history for its real answer: that look is no lost attempt, so
// even one attempt gives the answer, not ABORTED.
TEST(InventoryAttemptsTest, AReusedIdGetsItsAnswerWithOneAttempt) {
  TestSchema schema("inventory_one_attempt");
  InventoryHarness harness(schema.name(), shop::testing::TestDsn(), 16,
                           InventoryOptions{.max_attempts = 1});
  ASSERT_TRUE(
      harness.app()
          .RunAndWait("p", AddProductCommand{"Product", 100, 10}, CallContext{})
          .ok());
  const ReserveStockCommand reserve{2, "r-1", absl::Minutes(15)};
  ASSERT_TRUE(harness.app().RunAndWait("p", reserve, {}).ok());
  ASSERT_TRUE(
      harness.app().RunAndWait("p", ReleaseStockCommand{"r-1"}, {}).ok());

  absl::StatusOr<Outcome> again = harness.app().RunAndWait("p", reserve, {});
  EXPECT_EQ(again.status().code(), absl::StatusCode::kFailedPrecondition)
      << again.status();
  EXPECT_EQ(shop::ReasonOf(again.status()), "RESERVATION_RELEASED");
}

}  // namespace
}  // namespace inventory
