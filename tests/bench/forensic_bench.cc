// forensic_bench: the forensic reads' latencies through real gRPC on a real
// PostgreSQL (BENCHMARKS.md, issue 12): GetStockAsOf at 1,000, 100,000 and
// 1,000,000 events in a stream, ListEventsByCorrelation with 1,000,000
// events in the schema, ReserveStock at 10 against 1,000,000 events, and a
// reservation split over three warehouses beside one held in one.
// Streams are seeded with one INSERT ... generate_series each.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/random/random.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/eventstore/connection_pool.h"
#include "common/eventstore/event_store.h"
#include "common/eventstore/migrations.h"
#include "common/server/server.h"
#include "common/util/proto_time.h"
#include "grpcpp/grpcpp.h"
#include "pqxx/pqxx"
#include "services/inventory/api/inventory_service.h"
#include "services/inventory/app/inventory.h"
#include "services/inventory/app/stock_history.h"
#include "services/inventory/store/product_history.h"
#include "services/inventory/store/product_store.h"
#include "services/inventory/store/warehouse_store.h"

ABSL_FLAG(std::string, dsn, "",
          "libpq connection string (default $SHOP_PG_DSN)");
ABSL_FLAG(std::string, sizes, "1000,100000,1000000",
          "events in the streams GetStockAsOf reads");
ABSL_FLAG(int, reads, 300, "measured calls per figure");
ABSL_FLAG(bool, keep_schema, false, "leave the schema for inspection");

namespace {

namespace v1 = inventory::v1;

// Nearest-rank percentile of `ms`, which it sorts.
double Percentile(std::vector<double>& ms, double p) {
  std::sort(ms.begin(), ms.end());
  size_t rank = static_cast<size_t>(p / 100.0 * ms.size() + 0.999999);
  rank = std::clamp<size_t>(rank, 1, ms.size());
  return ms[rank - 1];
}

// Seeds stream product-{id} with `n` events recorded 1 ms apart from
// `start`: product.added, then receipts (main and east) and reservations
// each released by the next event, so the state stays small; every ten
// events share correlation id `{id}-{i/10}`.
void Seed(pqxx::connection& db, const std::string& schema,
          const std::string& id, int64_t n, absl::Time start) {
  pqxx::work tx(db);
  tx.exec_params(
      absl::StrCat(
          "INSERT INTO ", schema,
          ".events (stream_id, version, event_id, type, data, metadata, "
          "recorded_at) SELECT $1, i, gen_random_uuid(), CASE WHEN i = 1 THEN "
          "'product.added' WHEN i % 3 = 2 THEN 'stock.received' WHEN i % 3 = "
          "0 THEN 'stock.reserved' ELSE 'stock.released' END, CASE WHEN i = 1 "
          "THEN '{\"name\": \"Bench\", \"priceCents\": \"100\", \"quantity\": "
          "\"1000000000\"}'::jsonb WHEN i % 3 = 2 THEN "
          "jsonb_build_object('quantity', '1', 'warehouseId', CASE WHEN i % 2 "
          "= 0 THEN 'main' ELSE 'east' END) WHEN i % 3 = 0 THEN "
          "jsonb_build_object('quantity', '1', 'reservationId', 'r-' || i, "
          "'expiresAt', '2033-01-01T00:00:00Z', 'lines', "
          "jsonb_build_array(jsonb_build_object('warehouseId', 'main', "
          "'quantity', '1'))) ELSE jsonb_build_object('quantity', '1', "
          "'reservationId', 'r-' || (i - 1), 'lines', "
          "jsonb_build_array(jsonb_build_object('warehouseId', 'main', "
          "'quantity', '1'))) END, jsonb_build_object('correlationId', $2 || "
          "'-' || (i / 10)), $3::timestamptz + make_interval(secs => i / "
          "1000.0) FROM generate_series(1, $4::bigint) AS i"),
      "product-" + id, id,
      absl::FormatTime(absl::RFC3339_full, start, absl::UTCTimeZone()), n);
  tx.exec_params(absl::StrCat("INSERT INTO ", schema,
                              ".streams (stream_id, version) VALUES ($1, $2)"),
                 "product-" + id, n);
  tx.commit();
}

struct Server {
  Server(eventstore::ConnectionPool* pool, const std::string& schema)
      : events(pool, schema, {.max_batch = 64}),
        feed(&events, {}),
        store(&events),
        warehouses(&events),
        app(&store, &warehouses, {.workers = 8}),
        product_history(&events),
        history(&product_history, &events),
        service(&app, &history, /*reports=*/nullptr, &feed) {
    absl::StatusOr<std::unique_ptr<shop::Server>> started =
        shop::Server::Start({.listen_address = "127.0.0.1:0",
                             .health_service_name = "inventory.v1.Bench",
                             .access_log = false},
                            {&service});
    if (!started.ok()) {
      std::fprintf(stderr, "server: %s\n", started.status().ToString().c_str());
      std::exit(1);
    }
    server = *std::move(started);
    stub = v1::InventoryService::NewStub(
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", server->port()),
                            grpc::InsecureChannelCredentials()));
  }
  ~Server() { server->Shutdown(); }

  eventstore::EventStore events;
  // Not started: the forensic reads do not use it.
  eventstore::Feed feed;
  inventory::ProductStore store;
  inventory::WarehouseStore warehouses;
  inventory::Inventory app;
  inventory::ProductHistory product_history;
  inventory::StockHistory history;
  inventory::InventoryServiceImpl service;
  std::unique_ptr<shop::Server> server;
  std::unique_ptr<v1::InventoryService::Stub> stub;
};

void Check(const grpc::Status& status, const char* what) {
  if (!status.ok()) {
    std::fprintf(stderr, "%s: %s\n", what, status.error_message().c_str());
    std::exit(1);
  }
}

double MillisSince(absl::Time start) {
  return absl::ToDoubleMilliseconds(absl::Now() - start);
}

double AsOfOnce(Server& server, const std::string& id, absl::Time at) {
  v1::GetStockAsOfRequest request;
  request.set_product_id(id);
  *request.mutable_as_of() = shop::ToProto(at);
  v1::GetStockAsOfResponse response;
  grpc::ClientContext context;
  const absl::Time start = absl::Now();
  Check(server.stub->GetStockAsOf(&context, request, &response),
        "GetStockAsOf");
  return MillisSince(start);
}

double ReserveOnce(Server& server, const std::string& id, int k) {
  v1::ReserveStockRequest request;
  request.set_product_id(id);
  request.set_reservation_id(absl::StrCat("bench-", k));
  request.set_quantity(1);
  v1::ReserveStockResponse response;
  grpc::ClientContext context;
  const absl::Time start = absl::Now();
  Check(server.stub->ReserveStock(&context, request, &response),
        "ReserveStock");
  return MillisSince(start);
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  // Each figure shows as soon as it is measured, also into a file.
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  std::string dsn = absl::GetFlag(FLAGS_dsn);
  if (dsn.empty() && std::getenv("SHOP_PG_DSN") != nullptr) {
    dsn = std::getenv("SHOP_PG_DSN");
  }
  std::vector<int64_t> sizes;
  for (absl::string_view part :
       absl::StrSplit(absl::GetFlag(FLAGS_sizes), ',')) {
    int64_t n = 0;
    if (!absl::SimpleAtoi(part, &n) || n < 10) {
      std::fprintf(stderr, "--sizes: '%s' is not a count >= 10\n",
                   std::string(part).c_str());
      return 2;
    }
    sizes.push_back(n);
  }
  const int reads = absl::GetFlag(FLAGS_reads);
  const std::string schema =
      absl::StrCat("bench_forensic_", absl::ToUnixSeconds(absl::Now()));
  eventstore::ConnectionPool pool({.dsn = dsn, .size = 16});
  if (absl::Status migrated = eventstore::Migrate(
          pool, schema, inventory::ProductStore::Migrations());
      !migrated.ok()) {
    std::fprintf(stderr, "migrate: %s\n", migrated.ToString().c_str());
    return 1;
  }
  pqxx::connection db(dsn);
  // Histories end a day ago, so every as_of below is in the past.
  const absl::Time base = absl::Now() - absl::Hours(48);
  for (int64_t n : sizes) {
    const absl::Time start = absl::Now();
    Seed(db, schema, absl::StrCat("p", n), n, base);
    std::printf("seeded product-p%lld: %lld events in %.1f s\n",
                static_cast<long long>(n), static_cast<long long>(n),
                absl::ToDoubleSeconds(absl::Now() - start));
  }
  Seed(db, schema, "small", 10, base);
  {
    // The seeding's own aftermath (hint bits, dirty pages) stays out of
    // the figures.
    pqxx::nontransaction tx(db);
    tx.exec(absl::StrCat("VACUUM (ANALYZE) ", schema, ".events"));
    tx.exec("CHECKPOINT");
    const auto total =
        tx.exec(absl::StrCat("SELECT count(*) FROM ", schema, ".events"))[0][0]
            .as<int64_t>();
    std::printf("events in schema %s: %lld\n", schema.c_str(),
                static_cast<long long>(total));
  }

  Server server(&pool, schema);
  {
    v1::AddWarehouseRequest request;
    request.set_warehouse_id("east");
    request.set_name("East");
    v1::AddWarehouseResponse response;
    grpc::ClientContext context;
    Check(server.stub->AddWarehouse(&context, request, &response),
          "AddWarehouse");
  }
  absl::BitGen random;

  // GetStockAsOf: the first read folds the stream and leaves checkpoints;
  // then as_of uniformly over the stream's span, the sizes interleaved so
  // that each sees the same load.
  std::vector<double> cold(sizes.size());
  std::vector<int64_t> checkpoints(sizes.size());
  std::vector<std::vector<double>> as_of_ms(sizes.size());
  auto random_instant = [&](int64_t n) {
    return base + absl::Milliseconds(absl::Uniform<int64_t>(random, 1, n));
  };
  for (size_t s = 0; s < sizes.size(); ++s) {
    const std::string id = absl::StrCat("p", sizes[s]);
    cold[s] = AsOfOnce(server, id, base + absl::Milliseconds(sizes[s]));
    absl::StatusOr<int64_t> count = server.product_history.CountCheckpoints(id);
    checkpoints[s] = count.ok() ? *count : -1;
    for (int i = 0; i < 10; ++i) {
      AsOfOnce(server, id, random_instant(sizes[s]));
    }
  }
  for (int i = 0; i < reads; ++i) {
    for (size_t s = 0; s < sizes.size(); ++s) {
      as_of_ms[s].push_back(AsOfOnce(server, absl::StrCat("p", sizes[s]),
                                     random_instant(sizes[s])));
    }
  }
  for (size_t s = 0; s < sizes.size(); ++s) {
    std::printf(
        "GetStockAsOf events=%lld reads=%d p50_ms=%.2f p99_ms=%.2f "
        "first_read_ms=%.0f checkpoints_after_first_read=%lld\n",
        static_cast<long long>(sizes[s]), reads, Percentile(as_of_ms[s], 50),
        Percentile(as_of_ms[s], 99), cold[s],
        static_cast<long long>(checkpoints[s]));
  }

  // ListEventsByCorrelation: ids of the largest stream, 10 events each.
  {
    const int64_t n = sizes.back();
    const std::string id = absl::StrCat("p", n);
    std::vector<double> ms;
    for (int i = 0; i < reads + 10; ++i) {
      v1::ListEventsByCorrelationRequest request;
      request.set_correlation_id(
          absl::StrCat(id, "-", absl::Uniform<int64_t>(random, 0, n / 10)));
      v1::ListEventsByCorrelationResponse response;
      grpc::ClientContext context;
      const absl::Time start = absl::Now();
      Check(server.stub->ListEventsByCorrelation(&context, request, &response),
            "ListEventsByCorrelation");
      if (i >= 10) ms.push_back(MillisSince(start));
      if (response.events_size() == 0) {
        std::fprintf(stderr, "no events for %s\n",
                     request.correlation_id().c_str());
        return 1;
      }
    }
    std::printf(
        "ListEventsByCorrelation schema_events>=%lld reads=%d "
        "p50_ms=%.2f p99_ms=%.2f\n",
        static_cast<long long>(n), reads, Percentile(ms, 50),
        Percentile(ms, 99));
  }

  // ReserveStock at 10 and at the largest stream, interleaved so both see
  // the same load; the first call of each loads (and folds) the product.
  {
    const std::string large = absl::StrCat("p", sizes.back());
    const absl::Time start = absl::Now();
    ReserveOnce(server, large, -1);
    const double first_large = MillisSince(start);
    ReserveOnce(server, "small", -1);
    for (int k = 0; k < 20; ++k) {
      ReserveOnce(server, large, 1'000'000 + k);
      ReserveOnce(server, "small", 1'000'000 + k);
    }
    std::vector<double> small_ms, large_ms;
    for (int k = 0; k < reads; ++k) {
      small_ms.push_back(ReserveOnce(server, "small", k));
      large_ms.push_back(ReserveOnce(server, large, k));
    }
    const double small_p50 = Percentile(small_ms, 50);
    const double large_p50 = Percentile(large_ms, 50);
    std::printf(
        "ReserveStock events=10 p50_ms=%.2f p99_ms=%.2f | events=%lld "
        "p50_ms=%.2f p99_ms=%.2f first_call_ms=%.0f | ratio_p50=%.2f\n",
        small_p50, Percentile(small_ms, 99),
        static_cast<long long>(sizes.back()), large_p50,
        Percentile(large_ms, 99), first_large, large_p50 / small_p50);
  }

  // A reservation of 5 that no warehouse can hold alone (2 + 2 + 2) beside
  // one that main holds (6), each given back untimed after it is measured.
  {
    for (const char* warehouse : {"east", "west"}) {
      v1::AddWarehouseRequest request;
      request.set_warehouse_id(warehouse);
      request.set_name(warehouse);
      v1::AddWarehouseResponse response;
      grpc::ClientContext context;
      // The seeded histories may have added it already.
      const grpc::Status added =
          server.stub->AddWarehouse(&context, request, &response);
      if (added.error_code() != grpc::StatusCode::ALREADY_EXISTS) {
        Check(added, "AddWarehouse");
      }
    }
    auto receive = [&](const std::string& id, const std::string& warehouse,
                       int64_t quantity) {
      v1::ReceiveStockRequest request;
      request.set_product_id(id);
      request.set_warehouse_id(warehouse);
      request.set_quantity(quantity);
      v1::ReceiveStockResponse response;
      grpc::ClientContext context;
      Check(server.stub->ReceiveStock(&context, request, &response),
            "ReceiveStock");
    };
    for (const char* id : {"single", "split"}) {
      v1::AddProductRequest request;
      request.set_product_id(id);
      request.set_name(id);
      v1::AddProductResponse response;
      grpc::ClientContext context;
      Check(server.stub->AddProduct(&context, request, &response),
            "AddProduct");
    }
    receive("single", "main", 6);
    for (const char* warehouse : {"main", "east", "west"}) {
      receive("split", warehouse, 2);
    }
    auto reserve_and_release = [&](const std::string& id, int k) {
      v1::ReserveStockRequest request;
      request.set_product_id(id);
      request.set_reservation_id(absl::StrCat("shape-", k));
      request.set_quantity(5);
      v1::ReserveStockResponse response;
      grpc::ClientContext context;
      const absl::Time start = absl::Now();
      Check(server.stub->ReserveStock(&context, request, &response),
            "ReserveStock");
      const double ms = MillisSince(start);
      if (id == "split" && response.lines_size() != 3) {
        std::fprintf(stderr, "split reservation held in %d warehouses\n",
                     response.lines_size());
        std::exit(1);
      }
      v1::ReleaseStockRequest release;
      release.set_product_id(id);
      release.set_reservation_id(request.reservation_id());
      v1::ReleaseStockResponse released;
      grpc::ClientContext release_context;
      Check(server.stub->ReleaseStock(&release_context, release, &released),
            "ReleaseStock");
      return ms;
    };
    for (int k = 0; k < 20; ++k) {
      reserve_and_release("single", -1 - k);
      reserve_and_release("split", -1 - k);
    }
    std::vector<double> single_ms, split_ms;
    for (int k = 0; k < reads; ++k) {
      single_ms.push_back(reserve_and_release("single", k));
      split_ms.push_back(reserve_and_release("split", k));
    }
    const double single_p50 = Percentile(single_ms, 50);
    const double split_p50 = Percentile(split_ms, 50);
    std::printf(
        "ReserveStock one warehouse p50_ms=%.2f p99_ms=%.2f | split over 3 "
        "p50_ms=%.2f p99_ms=%.2f | ratio_p50=%.2f\n",
        single_p50, Percentile(single_ms, 99), split_p50,
        Percentile(split_ms, 99), split_p50 / single_p50);
  }

  if (!absl::GetFlag(FLAGS_keep_schema)) {
    pqxx::nontransaction tx(db);
    tx.exec(absl::StrCat("DROP SCHEMA ", schema, " CASCADE"));
  }
  return 0;
}
