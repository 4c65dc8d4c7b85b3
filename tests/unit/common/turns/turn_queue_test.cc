#include "common/turns/turn_queue.h"

#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/hash/hash.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace shop {
namespace {

using ::testing::ElementsAre;

using States = TurnQueue<std::string>;

struct Command : States::Waiter {
  explicit Command(std::string name, bool can_combine = true)
      : name(std::move(name)) {
    combinable = can_combine;
  }
  std::string name;
};

std::vector<std::string> NamesOf(const std::vector<Command*>& batch) {
  std::vector<std::string> names;
  for (const Command* command : batch) names.push_back(command->name);
  return names;
}

// The first command of a free stream gets the turn at once; those that come
// meanwhile are handed on by Next, several at a time, each batch starting
// from the state the previous one left.
TEST(TurnQueueTest, CommandsQueuedDuringATurnShareTheNext) {
  States states;
  Command first("first"), a("a"), b("b"), c("c");
  std::optional<States::Turn<Command>> turn = states.Enter("s", &first, 64);
  ASSERT_TRUE(turn.has_value());
  EXPECT_THAT(NamesOf(turn->batch), ElementsAre("first"));
  EXPECT_FALSE(turn->cached.has_value());
  for (Command* command : {&a, &b, &c}) {
    EXPECT_FALSE(states.Enter("s", command, 64).has_value());
  }
  EXPECT_EQ(states.Queued("s"), 3u);

  turn = states.Next<Command>("s", States::Versioned{"after first", 1}, 64);
  ASSERT_TRUE(turn.has_value());
  EXPECT_THAT(NamesOf(turn->batch), ElementsAre("a", "b", "c"));
  EXPECT_EQ(turn->cached->state, "after first");
  EXPECT_FALSE(states.Next<Command>("s", States::Versioned{"after c", 4}, 64)
                   .has_value());

  // The stream is free again, with the last state cached.
  Command d("d");
  turn = states.Enter("s", &d, 64);
  ASSERT_TRUE(turn.has_value());
  EXPECT_EQ(turn->cached->version, 4);
}

// A command that may not share a batch runs alone, in its turn, and a batch
// takes at most max_batch commands.
TEST(TurnQueueTest, BatchesAreBoundedAndPinnedCommandsRunAlone) {
  States states;
  Command first("first"), a("a"), b("b"), c("c"), pinned("pinned", false),
      d("d");
  ASSERT_TRUE(states.Enter("s", &first, 2).has_value());
  for (Command* command : {&a, &b, &c, &pinned, &d}) {
    EXPECT_FALSE(states.Enter("s", command, 2).has_value());
  }
  std::vector<std::vector<std::string>> batches;
  while (std::optional<States::Turn<Command>> turn =
             states.Next<Command>("s", std::nullopt, 2)) {
    batches.push_back(NamesOf(turn->batch));
  }
  EXPECT_THAT(batches, ElementsAre(ElementsAre("a", "b"), ElementsAre("c"),
                                   ElementsAre("pinned"), ElementsAre("d")));
}

// A stream's turn holds back only that stream, even when another stream
// shares its stripe.
TEST(TurnQueueTest, TurnsAreHeldPerStream) {
  auto stripe_of = [](const std::string& id) {
    return absl::Hash<std::string>{}(id) % 64;
  };
  std::string neighbour;
  for (int i = 0; neighbour.empty(); ++i) {
    std::string id = absl::StrCat("n", i);
    if (stripe_of(id) == stripe_of("a")) neighbour = id;
  }
  States states;
  Command a("a"), second("second"), other("other");
  ASSERT_TRUE(states.Enter("a", &a, 64).has_value());
  EXPECT_TRUE(states.Enter(neighbour, &other, 64).has_value());
  EXPECT_FALSE(states.Enter("a", &second, 64).has_value());
}

// AwaitNoTurns returns once the turn in progress has been passed on and
// nothing is left queued.
TEST(TurnQueueTest, AwaitNoTurnsWaitsForTheTurnInProgress) {
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
}  // namespace shop
