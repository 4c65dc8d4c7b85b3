#include "services/inventory/app/product_turns.h"

#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "common/errors/errors.h"
#include "common/eventstore/expected_version.h"
#include "gtest/gtest.h"
#include "tests/support/status_matchers.h"

namespace inventory {
namespace {

using ::shop::testing::IsOk;
using ::shop::testing::StatusIs;

// Work runs only when the test says so, so each stage can be observed.
class ManualExecutor final : public shop::Executor {
 public:
  void Schedule(absl::AnyInvocable<void() &&> work) override {
    queue_.push_back(std::move(work));
  }
  bool RunOne() {
    if (queue_.empty()) return false;
    auto work = std::move(queue_.front());
    queue_.pop_front();
    std::move(work)();
    return true;
  }
  void RunAll() {
    while (RunOne()) {
    }
  }
  size_t pending() const { return queue_.size(); }

 private:
  std::deque<absl::AnyInvocable<void() &&>> queue_;
};

// One product in memory; asynchronous appends wait for the test to answer.
class FakeStorage final : public ProductStorage {
 public:
  absl::StatusOr<LoadedProduct> Load(const std::string&) override {
    ++loads;
    return LoadedProduct{product, version, version};
  }
  absl::StatusOr<Past> FindPast(const std::string&,
                                const HistoryKey& key) override {
    past_lookups.push_back(key.id);
    return past;
  }
  absl::StatusOr<eventstore::AppendResult> Append(
      const std::string&, int64_t expected_version,
      const std::vector<eventstore::EventData>& events, const Product& after,
      int64_t*, absl::Time deadline) override {
    ++appends;
    deadlines.push_back(deadline);
    if (!next_append_error.ok()) return std::exchange(next_append_error, {});
    if (always_conflict) {
      return eventstore::WrongExpectedVersionError(
          "product-p", eventstore::ExpectedVersion::Exactly(expected_version),
          expected_version + 1);
    }
    if (expected_version != version) {
      return eventstore::WrongExpectedVersionError(
          "product-p", eventstore::ExpectedVersion::Exactly(expected_version),
          version);
    }
    version += static_cast<int64_t>(events.size());
    product = after;
    return eventstore::AppendResult{.version = version};
  }
  void AppendAsync(const std::string& product_id, int64_t expected_version,
                   std::vector<eventstore::EventData> events,
                   const Product& after, int64_t* snapshot_version,
                   absl::Time deadline,
                   eventstore::AppendCallback done) override {
    ++async_appends;
    in_flight.push_back([=, this, events = std::move(events),
                         done = std::move(done)]() mutable {
      std::move(done)(Append(product_id, expected_version, events, after,
                             snapshot_version, deadline));
    });
  }
  // Answers the oldest asynchronous append.
  void AnswerAppend() {
    auto answer = std::move(in_flight.front());
    in_flight.pop_front();
    std::move(answer)();
  }

  Product product;
  int64_t version = 0;
  // The deadline each append was given.
  std::vector<absl::Time> deadlines;
  Past past;
  absl::Status next_append_error;
  // Every append loses to another writer.
  bool always_conflict = false;
  int loads = 0;
  int appends = 0;
  int async_appends = 0;
  std::vector<std::string> past_lookups;
  std::deque<absl::AnyInvocable<void() &&>> in_flight;
};

class ProductTurnsTest : public ::testing::Test {
 protected:
  ProductTurnsTest() {
    storage_.product = Evolve(Product(), [] {
      v1::ProductAdded added;
      added.set_name("Shoe");
      added.set_quantity(10);
      return Event(added);
    }());
    storage_.version = 1;
  }

  // Submits a receipt of `quantity`; its answer lands in the returned slot.
  std::shared_ptr<std::optional<absl::StatusOr<Outcome>>> Receive(
      int64_t quantity, std::optional<int64_t> expected = std::nullopt) {
    auto answer = std::make_shared<std::optional<absl::StatusOr<Outcome>>>();
    CallContext context;
    context.expected_version = expected;
    turns_.Submit("p",
                  std::make_unique<Command>(
                      context, HistoryNeed{}, "",
                      [quantity](const Product& product, const Facts& facts) {
                        return Decide("p",
                                      ReceiveStockCommand{.quantity = quantity,
                                                          .reference = "ref"},
                                      product, facts);
                      },
                      [answer](absl::StatusOr<Outcome> result) {
                        *answer = std::move(result);
                      }));
    return answer;
  }

  FakeStorage storage_;
  ManualExecutor workers_;
  ProductTurns turns_{&storage_, &workers_, {.max_attempts = 3}};
};

// A product not in memory is loaded and written on a worker; the next
// command decides on the state that write left, inline, with no load.
TEST_F(ProductTurnsTest, FirstLoadsOnAWorkerThenDecidesInMemory) {
  auto first = Receive(2);
  EXPECT_EQ(workers_.pending(), 1u);
  EXPECT_EQ(storage_.loads, 0);
  workers_.RunAll();
  ASSERT_TRUE(first->has_value());
  EXPECT_THAT(**first, IsOk());
  EXPECT_EQ(storage_.loads, 1);

  auto second = Receive(3);
  EXPECT_EQ(workers_.pending(), 0u);
  ASSERT_EQ(storage_.in_flight.size(), 1u);
  EXPECT_FALSE(second->has_value());
  storage_.AnswerAppend();
  ASSERT_TRUE(second->has_value());
  ASSERT_THAT(**second, IsOk());
  EXPECT_EQ((**second)->on_hand, 15);
  EXPECT_EQ(storage_.loads, 1);
}

// Commands queued while an append is in flight share the next append.
TEST_F(ProductTurnsTest, CommandsQueuedDuringAnAppendShareTheNext) {
  Receive(1);
  workers_.RunAll();
  auto a = Receive(1);
  auto b = Receive(1);
  auto c = Receive(1);
  EXPECT_EQ(turns_.Queued("p"), 2u);
  storage_.AnswerAppend();
  ASSERT_TRUE(a->has_value());
  EXPECT_EQ(storage_.in_flight.size(), 1u);
  storage_.AnswerAppend();
  ASSERT_TRUE(b->has_value() && c->has_value());
  EXPECT_EQ((**c)->on_hand, 14);
  EXPECT_EQ(storage_.async_appends, 2);
}

// A stale cache (another replica wrote) is decided again on a fresh load.
TEST_F(ProductTurnsTest, AConflictIsDecidedAgainOnAFreshLoad) {
  Receive(1);
  workers_.RunAll();
  storage_.version = 7;  // someone else appended
  auto answer = Receive(2);
  storage_.AnswerAppend();
  EXPECT_FALSE(answer->has_value());
  workers_.RunAll();
  ASSERT_TRUE(answer->has_value());
  ASSERT_THAT(**answer, IsOk());
  EXPECT_EQ((**answer)->version, 8);
  EXPECT_EQ(storage_.loads, 2);
}

// An append whose outcome is unknown is answered with its error and not
// decided again: it may have landed, and deciding again could apply it
// twice.
TEST_F(ProductTurnsTest, AnAppendWithUnknownOutcomeIsNotWrittenAgain) {
  Receive(1);
  workers_.RunAll();
  storage_.next_append_error = absl::UnavailableError("connection lost");
  auto answer = Receive(5);
  storage_.AnswerAppend();
  ASSERT_TRUE(answer->has_value());
  EXPECT_THAT(**answer, StatusIs(absl::StatusCode::kUnavailable));
  workers_.RunAll();
  EXPECT_EQ(storage_.appends, 2);
}

// A pinned expected version that does not hold is refused, confirmed on a
// fresh load, and nothing is written.
TEST_F(ProductTurnsTest, AStaleExpectedVersionIsRefused) {
  Receive(1);
  workers_.RunAll();
  auto answer = Receive(1, /*expected=*/1);
  workers_.RunAll();
  ASSERT_TRUE(answer->has_value());
  EXPECT_THAT(**answer,
              StatusIs(absl::StatusCode::kAborted, "WRONG_EXPECTED_VERSION"));
  EXPECT_EQ(storage_.version, 2);
}

// A command that needs a reservation's past has it looked up before its
// pure decision runs, on a worker, never inline.
TEST_F(ProductTurnsTest, APastIsLoadedBeforeTheDecision) {
  Receive(1);
  workers_.RunAll();
  v1::StockReleased released;
  released.set_reservation_id("r-1");
  storage_.past = PastEvent{released, 1};
  auto seen = std::make_shared<std::optional<Past>>();
  auto answer = std::make_shared<std::optional<absl::StatusOr<Outcome>>>();
  const ReleaseStockCommand release{"r-1", std::nullopt, ""};
  turns_.Submit(
      "p", std::make_unique<Command>(
               CallContext(), HistoryNeedOf(release), "r-1",
               [seen, release](const Product& product, const Facts& facts) {
                 *seen = facts.past;
                 return Decide("p", release, product, facts);
               },
               [answer](absl::StatusOr<Outcome> result) {
                 *answer = std::move(result);
               }));
  EXPECT_FALSE(seen->has_value());
  EXPECT_TRUE(storage_.past_lookups.empty());
  workers_.RunAll();
  ASSERT_TRUE(answer->has_value());
  EXPECT_THAT(**answer, IsOk());
  ASSERT_TRUE(seen->has_value() && seen->value().has_value());
  EXPECT_TRUE(std::holds_alternative<v1::StockReleased>(seen->value()->event));
  EXPECT_EQ(storage_.past_lookups, std::vector<std::string>{"r-1"});
}

// Losing every attempt to other writers ends in ABORTED.
TEST_F(ProductTurnsTest, ConflictsEndInAborted) {
  storage_.always_conflict = true;
  auto answer = Receive(1);
  workers_.RunAll();
  ASSERT_TRUE(answer->has_value());
  EXPECT_THAT(**answer,
              StatusIs(absl::StatusCode::kAborted, "CONCURRENCY_CONFLICT"));
}

}  // namespace
}  // namespace inventory
