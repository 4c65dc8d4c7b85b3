// Google Benchmark of the write path's JSON: our writer against protobuf's
// printer for the messages every reservation stores (see BENCHMARKS.md).
#include <string>

#include "benchmark/benchmark.h"
#include "common/eventstore/event_store.h"
#include "common/util/proto_json.h"
#include "google/protobuf/util/json_util.h"
#include "inventory/v1/events.pb.h"

namespace {

inventory::v1::StockReserved Reserved() {
  inventory::v1::StockReserved reserved;
  reserved.set_quantity(1);
  reserved.set_reservation_id("cart-123:sneakers-1:0f8fad5b-d9cb-469f");
  reserved.mutable_expires_at()->set_seconds(1800000900);
  reserved.mutable_expires_at()->set_nanos(123456000);
  return reserved;
}

inventory::v1::ProductSnapshot Snapshot(int reservations) {
  inventory::v1::ProductSnapshot snapshot;
  snapshot.set_name("Sneakers");
  snapshot.set_price_cents(4999);
  snapshot.set_on_hand(1000);
  for (int i = 0; i < reservations; ++i) {
    auto& held =
        (*snapshot.mutable_reservations())["reservation-" + std::to_string(i)];
    held.set_quantity(1);
    held.mutable_expires_at()->set_seconds(1800000900 + i);
  }
  return snapshot;
}

std::string ProtobufJson(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.always_print_primitive_fields = true;
  std::string json;
  (void)google::protobuf::util::MessageToJsonString(message, &json, options);
  return json;
}

void BM_EventProtobuf(benchmark::State& state) {
  const auto event = Reserved();
  for (auto _ : state) benchmark::DoNotOptimize(ProtobufJson(event));
}
BENCHMARK(BM_EventProtobuf);

void BM_EventOurs(benchmark::State& state) {
  const auto event = Reserved();
  for (auto _ : state) benchmark::DoNotOptimize(shop::ToJson(event));
}
BENCHMARK(BM_EventOurs);

void BM_SnapshotProtobuf(benchmark::State& state) {
  const auto snapshot = Snapshot(static_cast<int>(state.range(0)));
  for (auto _ : state) benchmark::DoNotOptimize(ProtobufJson(snapshot));
}
BENCHMARK(BM_SnapshotProtobuf)->Arg(10)->Arg(100);

void BM_SnapshotOurs(benchmark::State& state) {
  const auto snapshot = Snapshot(static_cast<int>(state.range(0)));
  for (auto _ : state) benchmark::DoNotOptimize(shop::ToJson(snapshot));
}
BENCHMARK(BM_SnapshotOurs)->Arg(10)->Arg(100);

void BM_Metadata(benchmark::State& state) {
  eventstore::Metadata metadata{"corr-1", "cause-1", "cart-service",
                                "0f8fad5b-d9cb-469f-a165-70867728950e"};
  for (auto _ : state) benchmark::DoNotOptimize(metadata.ToJson());
}
BENCHMARK(BM_Metadata);

}  // namespace

BENCHMARK_MAIN();
