#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
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
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

// What the events of these tests are about, as a service's tag function.
const std::vector<Migration>& TagMigrations() {
  static const auto* const kMigrations =
      new std::vector<Migration>{{"0900_test_tags", R"sql(
CREATE FUNCTION {schema}.test_tags(data jsonb) RETURNS text[]
  LANGUAGE sql IMMUTABLE AS $$ SELECT ARRAY[data->>'w'] $$;
)sql"}};
  return *kMigrations;
}

EventData Event(const std::string& type, const std::string& warehouse,
                const std::string& correlation = "") {
  Metadata metadata;
  metadata.correlation_id = correlation;
  return EventData{NewUuid(), type, absl::StrCat(R"({"w":")", warehouse, "\"}"),
                   metadata.ToJson()};
}

std::vector<int64_t> Versions(const std::vector<RecordedEvent>& events) {
  std::vector<int64_t> versions;
  for (const RecordedEvent& event : events) versions.push_back(event.version);
  return versions;
}

class ForensicReadsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    pool_ = std::make_unique<ConnectionPool>(
        PoolOptions{.dsn = TestDsn(), .size = 4});
    ASSERT_TRUE(Migrate(*pool_, schema_.name(), TagMigrations()).ok());
    store_ = std::make_unique<EventStore>(pool_.get(), schema_.name());
  }

  // Appends one event at a time, so each has its own transaction and time.
  void AppendEach(const std::string& stream,
                  const std::vector<EventData>& events) {
    for (const EventData& event : events) {
      absl::StatusOr<AppendResult> appended =
          store_->Append(stream, ExpectedVersion::Any(), {event});
      ASSERT_TRUE(appended.ok()) << appended.status();
    }
  }

  std::vector<RecordedEvent> All(const std::string& stream) {
    absl::StatusOr<std::vector<RecordedEvent>> events =
        store_->ReadStreamForward(stream, 1, 1000);
    EXPECT_TRUE(events.ok()) << events.status();
    return events.ok() ? *events : std::vector<RecordedEvent>{};
  }

  // The plan PostgreSQL picks for `sql`.
  std::string PlanOf(const std::string& sql) {
    pqxx::connection connection(TestDsn());
    pqxx::work tx(connection);
    std::string plan;
    for (const pqxx::row& row : tx.exec("EXPLAIN " + sql)) {
      absl::StrAppend(&plan, row[0].as<std::string>(), "\n");
    }
    return plan;
  }

  TestSchema schema_{"es_forensic"};
  std::unique_ptr<ConnectionPool> pool_;
  std::unique_ptr<EventStore> store_;
};

// Types, tag and direction each narrow the read, and page by version.
TEST_F(ForensicReadsTest, FiltersByTypeTagAndDirection) {
  AppendEach("p-1", {Event("a", "east"), Event("b", "west"), Event("a", "west"),
                     Event("c", "east"), Event("a", "east")});
  AppendEach("p-2", {Event("a", "east")});

  absl::StatusOr<std::vector<RecordedEvent>> by_type =
      store_->ReadStreamFiltered("p-1", 1, {.types = {"a", "c"}}, 100);
  ASSERT_TRUE(by_type.ok()) << by_type.status();
  EXPECT_THAT(Versions(*by_type), ElementsAre(1, 3, 4, 5));

  absl::StatusOr<std::vector<RecordedEvent>> east = store_->ReadStreamFiltered(
      "p-1", 1, {.tag_function = "test_tags", .tag = "east"}, 100);
  ASSERT_TRUE(east.ok()) << east.status();
  EXPECT_THAT(Versions(*east), ElementsAre(1, 4, 5));

  absl::StatusOr<std::vector<RecordedEvent>> newest_a =
      store_->ReadStreamFiltered("p-1", 0, {.types = {"a"}, .backward = true},
                                 2);
  ASSERT_TRUE(newest_a.ok()) << newest_a.status();
  EXPECT_THAT(Versions(*newest_a), ElementsAre(5, 3));

  absl::StatusOr<std::vector<RecordedEvent>> next_page =
      store_->ReadStreamFiltered("p-1", 2, {.types = {"a"}, .backward = true},
                                 2);
  ASSERT_TRUE(next_page.ok()) << next_page.status();
  EXPECT_THAT(Versions(*next_page), ElementsAre(1));

  absl::StatusOr<std::vector<RecordedEvent>> forward_from =
      store_->ReadStreamFiltered("p-1", 4, {}, 100);
  ASSERT_TRUE(forward_from.ok()) << forward_from.status();
  EXPECT_THAT(Versions(*forward_from), ElementsAre(4, 5));
}

// A time range keeps events recorded at or after from_time and before
// to_time, in either direction.
TEST_F(ForensicReadsTest, FiltersByTimeRange) {
  AppendEach("p-1", {Event("a", "x"), Event("a", "x"), Event("a", "x"),
                     Event("a", "x"), Event("a", "x")});
  std::vector<RecordedEvent> all = All("p-1");
  ASSERT_EQ(all.size(), 5u);
  for (size_t i = 1; i < all.size(); ++i) {
    ASSERT_LT(all[i - 1].recorded_at, all[i].recorded_at);
  }
  StreamFilter filter{.from_time = all[1].recorded_at,
                      .to_time = all[4].recorded_at};
  absl::StatusOr<std::vector<RecordedEvent>> forward =
      store_->ReadStreamFiltered("p-1", 1, filter, 100);
  ASSERT_TRUE(forward.ok()) << forward.status();
  EXPECT_THAT(Versions(*forward), ElementsAre(2, 3, 4));

  filter.backward = true;
  absl::StatusOr<std::vector<RecordedEvent>> backward =
      store_->ReadStreamFiltered("p-1", 0, filter, 100);
  ASSERT_TRUE(backward.ok()) << backward.status();
  EXPECT_THAT(Versions(*backward), ElementsAre(4, 3, 2));

  absl::StatusOr<std::vector<RecordedEvent>> after_end =
      store_->ReadStreamFiltered(
          "p-1", 1, {.from_time = all[4].recorded_at + absl::Seconds(1)}, 100);
  ASSERT_TRUE(after_end.ok()) << after_end.status();
  EXPECT_THAT(*after_end, IsEmpty());

  absl::StatusOr<std::vector<RecordedEvent>> before_start =
      store_->ReadStreamFiltered("p-1", 1, {.to_time = all[0].recorded_at},
                                 100);
  ASSERT_TRUE(before_start.ok()) << before_start.status();
  EXPECT_THAT(*before_start, IsEmpty());
}

// A tag function that is not an identifier is refused, not spliced in.
TEST_F(ForensicReadsTest, RefusesBadTagFunction) {
  EXPECT_THAT(store_->ReadStreamFiltered(
                  "p-1", 1, {.tag_function = "x; DROP", .tag = "a"}, 10),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(store_->ReadStreamFiltered("p-1", 1, {.tag = "a"}, 10),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

// One correlation id's events across streams, in commit order, paged by
// position; other ids and events without one stay out.
TEST_F(ForensicReadsTest, ReadsByCorrelationInCommitOrderAcrossStreams) {
  AppendEach("p-1", {Event("a", "x", "order-1"), Event("a", "x", "other")});
  AppendEach("c-1", {Event("b", "x", "order-1"), Event("b", "x")});
  AppendEach("p-1", {Event("c", "x", "order-1")});
  ASSERT_TRUE(
      store_
          ->Append("p-2", ExpectedVersion::Any(),
                   {Event("d", "x", "order-1"), Event("e", "x", "order-1")})
          .ok());

  absl::StatusOr<std::vector<RecordedEvent>> first =
      store_->ReadByCorrelation("order-1", GlobalPosition{}, 3);
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_EQ(first->size(), 3u);
  EXPECT_EQ((*first)[0].stream_id, "p-1");
  EXPECT_EQ((*first)[0].type, "a");
  EXPECT_EQ((*first)[1].stream_id, "c-1");
  EXPECT_EQ((*first)[2].type, "c");

  absl::StatusOr<std::vector<RecordedEvent>> rest =
      store_->ReadByCorrelation("order-1", first->back().position, 3);
  ASSERT_TRUE(rest.ok()) << rest.status();
  ASSERT_EQ(rest->size(), 2u);
  EXPECT_EQ((*rest)[0].type, "d");
  EXPECT_EQ((*rest)[1].type, "e");
  EXPECT_LT(first->back().position, (*rest)[0].position);

  absl::StatusOr<std::vector<RecordedEvent>> none =
      store_->ReadByCorrelation("nobody", GlobalPosition{}, 3);
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_THAT(*none, IsEmpty());
}

// The correlation read and the time range are answered from indexes.
TEST_F(ForensicReadsTest, ReadsAreIndexBacked) {
  // Enough rows, spread over streams and ids, that a scan costs more.
  shop::testing::ExecAsAdmin(absl::StrCat(
      "INSERT INTO ", schema_.name(),
      ".events (stream_id, version, event_id, type, data, metadata, "
      "recorded_at) SELECT 's-' || (i % 50), i, gen_random_uuid(), 'a', "
      "'{}', jsonb_build_object('correlationId', 'c-' || i), now() - "
      "make_interval(secs => i) FROM generate_series(1, 20000) AS i; "
      "ANALYZE ",
      schema_.name(), ".events"));
  EXPECT_THAT(PlanOf(absl::StrCat(
                  "SELECT * FROM ", schema_.name(),
                  ".events WHERE metadata->>'correlationId' = 'x' AND "
                  "(transaction_id, position) > ('0'::xid8, 0) ORDER BY "
                  "transaction_id, position LIMIT 10")),
              HasSubstr("events_correlation"));
  EXPECT_THAT(PlanOf(absl::StrCat("SELECT version FROM ", schema_.name(),
                                  ".events WHERE stream_id = 's-7' AND "
                                  "recorded_at >= now() - interval '1 minute' "
                                  "ORDER BY recorded_at, version LIMIT 1")),
              HasSubstr("events_stream_recorded_at"));
}

}  // namespace
}  // namespace eventstore
