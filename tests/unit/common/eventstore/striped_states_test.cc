#include "common/eventstore/striped_states.h"

#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace eventstore {
namespace {

using ::testing::ElementsAre;

using States = StripedStates<std::string>;

struct Command : States::Waiter {
  explicit Command(std::string name, bool can_combine = true)
      : name(std::move(name)) {
    combinable = can_combine;
  }
  std::string name;
};

class CombineTest : public ::testing::Test {
 protected:
  ~CombineTest() override { Finish(); }

  // Calls Combine for `command` on its own thread, as a caller would, and
  // returns once the command runs or waits in the queue.
  void Start(Command* command, size_t max_batch = 64) {
    const size_t queued = states_.Queued("s");
    threads_.emplace_back([this, command, max_batch] {
      states_.Combine<Command>("s", command, max_batch,
                               [this](std::optional<States::Versioned> cached,
                                      std::vector<Command*> batch) {
                                 return Run(std::move(cached), batch);
                               });
    });
    if (threads_.size() == 1) {
      first_running_.WaitForNotification();
      return;
    }
    const absl::Time deadline = absl::Now() + absl::Seconds(10);
    while (states_.Queued("s") == queued && absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(1));
    }
    ASSERT_EQ(states_.Queued("s"), queued + 1);
  }

  // Lets the first batch finish and waits for every command.
  void Finish() {
    if (!release_.HasBeenNotified()) release_.Notify();
    for (std::thread& thread : threads_) thread.join();
    threads_.clear();
  }

  // Records each batch; the first one holds the stream until Finish.
  std::optional<States::Versioned> Run(std::optional<States::Versioned> cached,
                                       const std::vector<Command*>& batch) {
    std::vector<std::string> names;
    for (const Command* command : batch) names.push_back(command->name);
    bool first = false;
    {
      absl::MutexLock lock(&mu_);
      first = batches_.empty();
      batches_.push_back(names);
      cached_seen_.push_back(cached.has_value() ? cached->state : "");
    }
    if (first) {
      first_running_.Notify();
      release_.WaitForNotification();
    }
    return States::Versioned{absl::StrCat("after-", names.back())};
  }

  States states_;
  absl::Notification first_running_;
  absl::Notification release_;
  absl::Mutex mu_;
  std::vector<std::vector<std::string>> batches_;
  std::vector<std::string> cached_seen_;
  std::vector<std::thread> threads_;
};

// Commands that arrive while a batch is written share the next one, which
// starts from the state the previous batch left.
TEST_F(CombineTest, CommandsQueuedDuringAWriteShareTheNextBatch) {
  Command first("first"), a("a"), b("b"), c("c");
  Start(&first);
  Start(&a);
  Start(&b);
  Start(&c);
  Finish();
  EXPECT_THAT(batches_,
              ElementsAre(ElementsAre("first"), ElementsAre("a", "b", "c")));
  EXPECT_THAT(cached_seen_, ElementsAre("", "after-first"));
  EXPECT_TRUE(first.done && a.done && b.done && c.done);
}

// A command that may not share a batch runs alone, in its turn.
TEST_F(CombineTest, CommandThatMayNotCombineRunsAlone) {
  Command first("first"), a("a"), pinned("pinned", false), b("b"), c("c");
  Start(&first);
  Start(&a);
  Start(&pinned);
  Start(&b);
  Start(&c);
  Finish();
  EXPECT_THAT(batches_,
              ElementsAre(ElementsAre("first"), ElementsAre("a"),
                          ElementsAre("pinned"), ElementsAre("b", "c")));
}

// A batch takes at most max_batch commands; the rest follow in order.
TEST_F(CombineTest, BatchesAreBounded) {
  Command first("first"), a("a"), b("b"), c("c");
  Start(&first, 2);
  Start(&a, 2);
  Start(&b, 2);
  Start(&c, 2);
  Finish();
  EXPECT_THAT(batches_, ElementsAre(ElementsAre("first"), ElementsAre("a", "b"),
                                    ElementsAre("c")));
}

// A stream's turn holds back only that stream, even when another stream
// shares its stripe.
TEST(AcquireTest, TurnsAreHeldPerStream) {
  States states;
  auto stripe_of = [](const std::string& id) {
    return absl::Hash<std::string>{}(id) % 64;
  };
  std::string neighbour;
  for (int i = 0; neighbour.empty(); ++i) {
    std::string id = absl::StrCat("n", i);
    if (stripe_of(id) == stripe_of("a")) neighbour = id;
  }

  absl::Notification second_ran;
  std::thread other, second;
  {
    States::Lock held = states.Acquire("a");
    absl::Notification neighbour_ran;
    other = std::thread([&] {
      States::Lock lock = states.Acquire(neighbour);
      neighbour_ran.Notify();
    });
    EXPECT_TRUE(
        neighbour_ran.WaitForNotificationWithTimeout(absl::Seconds(10)));

    second = std::thread([&] {
      States::Lock lock = states.Acquire("a");
      second_ran.Notify();
    });
    const absl::Time deadline = absl::Now() + absl::Seconds(10);
    while (states.Queued("a") == 0 && absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(1));
    }
    EXPECT_EQ(states.Queued("a"), 1u);
    EXPECT_FALSE(second_ran.HasBeenNotified());
    held.Put({"kept", 7});
  }
  other.join();
  second.join();
  EXPECT_TRUE(second_ran.HasBeenNotified());
  EXPECT_EQ(states.Acquire("a").Take()->version, 7);
}

std::vector<std::string> NamesOf(const std::vector<Command*>& batch) {
  std::vector<std::string> names;
  for (const Command* command : batch) names.push_back(command->name);
  return names;
}

// Without waiting: the first command of a free stream gets the turn, the
// ones that come meanwhile are handed to it by Next in Combine's batches,
// and the turn ends with the state it cached.
TEST(EnterTest, TurnGoesOnWithWhatQueuedMeanwhile) {
  States states;
  Command a("a"), b("b"), alone("alone", false), c("c"), d("d");
  std::optional<States::Turn<Command>> turn = states.Enter("s", &a, 2);
  ASSERT_TRUE(turn.has_value());
  EXPECT_THAT(NamesOf(turn->batch), ElementsAre("a"));
  EXPECT_FALSE(turn->cached.has_value());
  for (Command* command : {&b, &alone, &c, &d}) {
    EXPECT_FALSE(states.Enter("s", command, 2).has_value());
  }
  EXPECT_EQ(states.Queued("s"), 4u);

  turn = states.Next<Command>("s", States::Versioned{"after a", 1}, 2);
  ASSERT_TRUE(turn.has_value());
  EXPECT_THAT(NamesOf(turn->batch), ElementsAre("b"));
  EXPECT_EQ(turn->cached->state, "after a");
  turn = states.Next<Command>("s", States::Versioned{"after b", 2}, 2);
  ASSERT_TRUE(turn.has_value());
  EXPECT_THAT(NamesOf(turn->batch), ElementsAre("alone"));
  turn = states.Next<Command>("s", std::nullopt, 2);
  ASSERT_TRUE(turn.has_value());
  EXPECT_THAT(NamesOf(turn->batch), ElementsAre("c", "d"));
  EXPECT_FALSE(turn->cached.has_value());
  EXPECT_FALSE(states.Next<Command>("s", States::Versioned{"after d", 5}, 2)
                   .has_value());

  Command e("e");
  turn = states.Enter("s", &e, 2);
  ASSERT_TRUE(turn.has_value());
  EXPECT_EQ(turn->cached->version, 5);
}

// AwaitNoTurns returns once the turn in progress has been passed on and
// nothing is left queued.
TEST(EnterTest, AwaitNoTurnsWaitsForTheTurnInProgress) {
  States states;
  Command a("a");
  ASSERT_TRUE(states.Enter("s", &a, 1).has_value());
  absl::Notification idle;
  std::thread waiter([&] {
    states.AwaitNoTurns();
    idle.Notify();
  });
  EXPECT_FALSE(idle.WaitForNotificationWithTimeout(absl::Milliseconds(50)));
  EXPECT_FALSE(states.Next<Command>("s", std::nullopt, 1).has_value());
  EXPECT_TRUE(idle.WaitForNotificationWithTimeout(absl::Seconds(10)));
  waiter.join();
}

}  // namespace
}  // namespace eventstore
