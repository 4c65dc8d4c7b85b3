// feed_bench: catching up through Subscribe (BENCHMARKS.md, issue 14).
// Seeds a fresh schema with --events events in 100 transactions, then, in
// alternating rounds, times psql's COPY of the same rows in the same order
// (the baseline) and a Subscribe from the first event over loopback gRPC to
// an in-process server (the real InventoryServiceImpl and Feed) until its
// caught_up message; prints events/s of each and their ratio per round.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/eventstore/connection_pool.h"
#include "common/eventstore/event_store.h"
#include "common/eventstore/feed.h"
#include "common/eventstore/migrations.h"
#include "common/server/server.h"
#include "grpcpp/grpcpp.h"
#include "pqxx/pqxx"
#include "services/inventory/api/inventory_service.h"
#include "services/inventory/store/product_store.h"

ABSL_FLAG(std::string, dsn, "",
          "libpq connection string (default $SHOP_PG_DSN)");
ABSL_FLAG(int64_t, events, 1'000'000, "events to seed and read");
ABSL_FLAG(int, rounds, 3, "rounds of COPY then Subscribe");

namespace {

namespace v1 = inventory::v1;

double Median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

// Stock.reserved-like events, 100 per stream, in 100 transactions.
void Seed(const std::string& dsn, const std::string& schema, int64_t n) {
  pqxx::connection db(dsn);
  const int64_t per_transaction = std::max<int64_t>(1, n / 100);
  for (int64_t from = 0; from < n; from += per_transaction) {
    pqxx::work tx(db);
    tx.exec_params(
        absl::StrCat(
            "INSERT INTO ", schema,
            ".events (stream_id, version, event_id, type, data, metadata) "
            "SELECT 'product-p' || (i / 100), i % 100 + 1, gen_random_uuid(), "
            "'stock.reserved', jsonb_build_object('quantity', 1, "
            "'reservationId', 'r-' || i, 'expiresAt', "
            "'2026-12-03T12:00:00Z', 'lines', jsonb_build_array("
            "jsonb_build_object('warehouseId', 'main', 'quantity', 1))), "
            "jsonb_build_object('correlationId', 'c-' || i, 'causedBy', "
            "'bench') FROM generate_series($1::bigint, $2::bigint) AS i"),
        from, std::min(n, from + per_transaction) - 1);
    tx.commit();
  }
  pqxx::nontransaction tx(db);
  tx.exec(absl::StrCat("VACUUM (ANALYZE) ", schema, ".events"));
  tx.exec("CHECKPOINT");
}

double CopySeconds(const std::string& dsn, const std::string& schema) {
  const std::string command = absl::StrCat(
      "psql '", dsn, "' -q -c \"COPY (SELECT stream_id, version, ",
      "transaction_id::text AS xid, position, event_id, type, data, ",
      "metadata, recorded_at FROM ", schema,
      ".events ORDER BY transaction_id, position) TO STDOUT\" > /dev/null");
  const absl::Time start = absl::Now();
  if (std::system(command.c_str()) != 0) {
    std::fprintf(stderr, "psql COPY failed\n");
    std::exit(1);
  }
  return absl::ToDoubleSeconds(absl::Now() - start);
}

// Seconds until caught_up, and the events received by then.
std::pair<double, int64_t> SubscribeSeconds(v1::InventoryService::Stub& stub) {
  grpc::ClientContext context;
  v1::SubscribeRequest request;
  const absl::Time start = absl::Now();
  std::unique_ptr<grpc::ClientReader<v1::SubscribeResponse>> reader =
      stub.Subscribe(&context, request);
  v1::SubscribeResponse message;
  int64_t events = 0;
  while (reader->Read(&message)) {
    events += message.events_size();
    if (message.caught_up()) break;
  }
  const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  context.TryCancel();
  reader->Finish();
  return {seconds, events};
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  std::string dsn = absl::GetFlag(FLAGS_dsn);
  if (dsn.empty() && std::getenv("SHOP_PG_DSN") != nullptr) {
    dsn = std::getenv("SHOP_PG_DSN");
  }
  const int64_t n = absl::GetFlag(FLAGS_events);
  const std::string schema =
      absl::StrCat("bench_feed_", absl::ToUnixSeconds(absl::Now()));
  eventstore::ConnectionPool pool({.dsn = dsn, .size = 4});
  if (absl::Status migrated = eventstore::Migrate(
          pool, schema, inventory::ProductStore::Migrations());
      !migrated.ok()) {
    std::fprintf(stderr, "migrate: %s\n", migrated.ToString().c_str());
    return 1;
  }
  const absl::Time seeding = absl::Now();
  Seed(dsn, schema, n);
  std::printf("seeded %lld events in %.1f s\n", static_cast<long long>(n),
              absl::ToDoubleSeconds(absl::Now() - seeding));

  eventstore::EventStore events(&pool, schema);
  eventstore::Feed feed(&events, {.dsn = dsn});
  if (absl::Status started = feed.Start(); !started.ok()) {
    std::fprintf(stderr, "feed: %s\n", started.ToString().c_str());
    return 1;
  }
  inventory::InventoryServiceImpl service(nullptr, nullptr, nullptr, &feed);
  absl::StatusOr<std::unique_ptr<shop::Server>> server =
      shop::Server::Start({.listen_address = "127.0.0.1:0",
                           .health_service_name = "inventory.v1.Bench",
                           .access_log = false},
                          {&service});
  if (!server.ok()) {
    std::fprintf(stderr, "server: %s\n", server.status().ToString().c_str());
    return 1;
  }
  grpc::ChannelArguments arguments;
  arguments.SetMaxReceiveMessageSize(-1);
  auto stub = v1::InventoryService::NewStub(
      grpc::CreateCustomChannel(absl::StrCat("127.0.0.1:", (*server)->port()),
                                grpc::InsecureChannelCredentials(), arguments));

  std::vector<double> ratios;
  for (int round = 1; round <= absl::GetFlag(FLAGS_rounds); ++round) {
    const double copy = CopySeconds(dsn, schema);
    const auto [subscribe, received] = SubscribeSeconds(*stub);
    // The migration's warehouse-main event comes through too.
    if (received < n) {
      std::fprintf(stderr, "Subscribe delivered %lld of %lld events\n",
                   static_cast<long long>(received), static_cast<long long>(n));
      return 1;
    }
    const double ratio = copy / subscribe;
    ratios.push_back(ratio);
    std::printf(
        "round %d: COPY %.0f events/s (%.2f s), Subscribe %.0f events/s "
        "(%.2f s), ratio %.2fx\n",
        round, n / copy, copy, received / subscribe, subscribe, ratio);
  }
  std::printf("median ratio Subscribe/COPY: %.2fx\n", Median(ratios));
  (*server)->Shutdown();
  feed.Close();
  pqxx::connection db(dsn);
  pqxx::nontransaction(db).exec(
      absl::StrCat("DROP SCHEMA ", schema, " CASCADE"));
  return 0;
}
