#include "tests/bench/append_scenarios.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/eventstore/connection_pool.h"
#include "common/eventstore/event_store.h"
#include "common/eventstore/expected_version.h"
#include "common/eventstore/migrations.h"
#include "common/eventstore/uuid.h"
#include "pqxx/pqxx"

namespace shop::bench {
namespace {

using ::eventstore::AppendResult;
using ::eventstore::ConnectionPool;
using ::eventstore::EventData;
using ::eventstore::EventStore;
using ::eventstore::ExpectedVersion;

// Same shape and size as the pgbench script's row, so the ratio compares
// the event store's work with a plain insert of the same payload.
constexpr char kEventData[] = R"({"quantity": 1, "reference": "bench"})";

// Bound on retries of one exact-version append; reaching it is an error.
constexpr int kMaxAttempts = 1000;

std::string FreshSchemaName() {
  absl::BitGen gen;
  return absl::StrFormat("bench_%016x", absl::Uniform<uint64_t>(gen));
}

std::vector<EventData> OneEvent() {
  return {EventData{eventstore::NewUuid(), "bench.appended", kEventData, "{}"}};
}

OpResult Failed(absl::Status status) {
  return OpResult{.outcome = Outcome::kError, .error = std::move(status)};
}

// What the store holds after a run, read in one statement.
struct StoreCounts {
  int64_t events = 0;
  int64_t streams = 0;
  // Streams whose events are not exactly versions 1..version.
  int64_t broken_streams = 0;
};

// Owns the schema, pool and store; subclasses choose streams and
// expectations, and the stream count the run must leave.
class AppendScenario : public Scenario {
 public:
  explicit AppendScenario(const LoadOptions& options)
      : pool_(eventstore::PoolOptions{.dsn = options.dsn,
                                      .size = options.pool_size > 0
                                                  ? options.pool_size
                                                  : options.concurrency}),
        schema_(FreshSchemaName()),
        store_(&pool_, schema_,
               {.max_batch = options.append_batch,
                .max_in_flight = options.append_batches_in_flight}),
        workers_(options.concurrency) {}

  absl::Status Setup() override {
    return eventstore::Migrate(pool_, schema_, {});
  }

  absl::Status Check(const Tally& total) override {
    absl::StatusOr<StoreCounts> counts = Count();
    if (!counts.ok()) return counts.status();
    if (counts->events != total.ok) {
      return absl::InternalError(absl::StrCat("store holds ", counts->events,
                                              " events, but ", total.ok,
                                              " appends succeeded"));
    }
    if (counts->broken_streams != 0) {
      return absl::InternalError(absl::StrCat(
          counts->broken_streams, " streams have gaps or a wrong version"));
    }
    return CheckStreams(counts->streams, total);
  }

  absl::Status Teardown() override {
    return pool_.Run([this](eventstore::Connection& connection) {
      pqxx::nontransaction tx(connection.raw());
      tx.exec(absl::StrCat("DROP SCHEMA IF EXISTS ", schema_, " CASCADE"));
      return absl::OkStatus();
    });
  }

 protected:
  // Per-worker state; padded so that workers do not share cache lines.
  struct alignas(64) Worker {
    int64_t known_version = 0;
    int64_t next_stream = 0;
  };

  virtual absl::Status CheckStreams(int64_t streams, const Tally& total) = 0;

  // Appends one event with the exact version the worker believes, learning
  // the actual version from each refusal until it wins.
  OpResult AppendExact(Worker& worker, const std::string& stream) {
    OpResult result;
    for (int attempt = 0; attempt < kMaxAttempts; ++attempt) {
      absl::StatusOr<AppendResult> appended = store_.Append(
          stream, ExpectedVersion::Exactly(worker.known_version), OneEvent());
      if (appended.ok()) {
        worker.known_version = appended->version;
        return result;
      }
      std::optional<eventstore::WrongExpectedVersion> wrong =
          eventstore::AsWrongExpectedVersion(appended.status());
      if (!wrong.has_value()) return Failed(appended.status());
      ++result.conflicts;
      worker.known_version = wrong->actual;
    }
    result.outcome = Outcome::kError;
    result.error = absl::AbortedError(absl::StrCat(
        "no append to ", stream, " won in ", kMaxAttempts, " attempts"));
    return result;
  }

  static OpResult FromStatus(const absl::StatusOr<AppendResult>& appended) {
    if (!appended.ok()) return Failed(appended.status());
    return OpResult{};
  }

  absl::StatusOr<StoreCounts> Count() {
    StoreCounts counts;
    absl::Status status = pool_.Run([&](eventstore::Connection& connection) {
      pqxx::nontransaction tx(connection.raw());
      pqxx::result row = tx.exec(absl::StrCat(
          "SELECT (SELECT count(*) FROM ", schema_, ".events), ",
          "(SELECT count(*) FROM ", schema_, ".streams), ",
          "(SELECT count(*) FROM ", schema_, ".streams s LEFT JOIN ",
          "(SELECT stream_id, count(*) AS n, min(version) AS lo, "
          "max(version) AS hi FROM ",
          schema_,
          ".events GROUP BY stream_id) e USING (stream_id) "
          "WHERE e.n IS DISTINCT FROM s.version OR e.lo IS DISTINCT FROM 1 "
          "OR e.hi IS DISTINCT FROM s.version)"));
      counts.events = row[0][0].as<int64_t>();
      counts.streams = row[0][1].as<int64_t>();
      counts.broken_streams = row[0][2].as<int64_t>();
      return absl::OkStatus();
    });
    if (!status.ok()) return status;
    return counts;
  }

  ConnectionPool pool_;
  const std::string schema_;
  EventStore store_;
  std::vector<Worker> workers_;
};

absl::Status ExpectStreams(int64_t actual, int64_t expected) {
  if (actual == expected) return absl::OkStatus();
  return absl::InternalError(
      absl::StrCat("store holds ", actual, " streams, expected ", expected));
}

constexpr char kHotStream[] = "bench-hot";

class AppendOneStream final : public AppendScenario {
 public:
  using AppendScenario::AppendScenario;

  OpResult Run(int) override {
    return FromStatus(
        store_.Append(kHotStream, ExpectedVersion::Any(), OneEvent()));
  }

 private:
  absl::Status CheckStreams(int64_t streams, const Tally& total) override {
    return ExpectStreams(streams, total.ok > 0 ? 1 : 0);
  }
};

class AppendOneStreamExact final : public AppendScenario {
 public:
  using AppendScenario::AppendScenario;

  OpResult Run(int worker) override {
    return AppendExact(workers_[worker], kHotStream);
  }

 private:
  absl::Status CheckStreams(int64_t streams, const Tally& total) override {
    return ExpectStreams(streams, total.ok > 0 ? 1 : 0);
  }
};

class AppendManyStreams final : public AppendScenario {
 public:
  using AppendScenario::AppendScenario;

  OpResult Run(int worker) override {
    const std::string stream =
        absl::StrCat("bench-", worker, "-", workers_[worker].next_stream++);
    return FromStatus(
        store_.Append(stream, ExpectedVersion::NoStream(), OneEvent()));
  }

 private:
  absl::Status CheckStreams(int64_t streams, const Tally& total) override {
    return ExpectStreams(streams, total.ok);
  }
};

class AppendWorkerStreams final : public AppendScenario {
 public:
  using AppendScenario::AppendScenario;

  OpResult Run(int worker) override {
    return AppendExact(workers_[worker], absl::StrCat("bench-", worker));
  }

 private:
  absl::Status CheckStreams(int64_t streams, const Tally& total) override {
    if (total.conflicts != 0) {
      return absl::InternalError(absl::StrCat(
          total.conflicts, " conflicts on streams with a single writer"));
    }
    // A worker's last version is its stream's length: their sum is every
    // append that succeeded.
    int64_t used = 0;
    int64_t appended = 0;
    for (const Worker& worker : workers_) {
      if (worker.known_version > 0) ++used;
      appended += worker.known_version;
    }
    if (appended != total.ok) {
      return absl::InternalError(
          absl::StrCat("workers' streams end at versions summing to ", appended,
                       ", but ", total.ok, " appends succeeded"));
    }
    return ExpectStreams(streams, used);
  }
};

}  // namespace

std::unique_ptr<Scenario> MakeAppendOneStream(const LoadOptions& options) {
  return std::make_unique<AppendOneStream>(options);
}

std::unique_ptr<Scenario> MakeAppendOneStreamExact(const LoadOptions& options) {
  return std::make_unique<AppendOneStreamExact>(options);
}

std::unique_ptr<Scenario> MakeAppendManyStreams(const LoadOptions& options) {
  return std::make_unique<AppendManyStreams>(options);
}

std::unique_ptr<Scenario> MakeAppendWorkerStreams(const LoadOptions& options) {
  return std::make_unique<AppendWorkerStreams>(options);
}

}  // namespace shop::bench
