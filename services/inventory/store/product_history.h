#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/eventstore/event_store.h"
#include "common/eventstore/migrations.h"
#include "services/inventory/domain/product.h"

// A product's past: the events of its stream read with the forensic
// filters, and historical checkpoints of its folded state.
namespace inventory {

// A checkpoint is kept at every version that is a multiple of this, so a
// read as of any time folds fewer events than this on top of one.
inline constexpr int64_t kCheckpointEvery = 64;

// The product as it stood right after `version`, recorded at `recorded_at`.
struct Checkpoint {
  int64_t version = 0;
  absl::Time recorded_at;
  Product product;
};

// Which of a product's events a history read returns (all when empty).
struct ProductEventQuery {
  std::vector<std::string> types;
  // Events that name this warehouse; those naming none are main's.
  std::string warehouse_id;
  std::optional<absl::Time> from_time;
  std::optional<absl::Time> to_time;
  bool backward = false;
};

// The SQL behind a product's past, over the event store's schema.
class ProductHistory final {
 public:
  explicit ProductHistory(eventstore::EventStore* events) : events_(events) {}

  // Checkpoints table (0110), the events' warehouses function (0111) and
  // the checkpoints appends leave (0112); ProductStore::Migrations lists
  // them after its own.
  static std::vector<eventstore::Migration> Migrations();

  // The latest checkpoint recorded at or before `as_of`, if any.
  absl::StatusOr<std::optional<Checkpoint>> LatestCheckpoint(
      const std::string& product_id, absl::Time as_of);
  // Stores checkpoints; ones already there are kept (they are the same
  // fold of the same events).
  absl::Status WriteCheckpoints(const std::string& product_id,
                                const std::vector<Checkpoint>& checkpoints);
  // How many checkpoints the product has (tests, benchmarks).
  absl::StatusOr<int64_t> CountCheckpoints(const std::string& product_id);

  // Events from `from_version` on, oldest first.
  absl::StatusOr<std::vector<eventstore::RecordedEvent>> ReadForward(
      const std::string& product_id, int64_t from_version, int max_count);
  // The events `query` keeps, from `from_version` on (down when backward).
  absl::StatusOr<std::vector<eventstore::RecordedEvent>> ReadEvents(
      const std::string& product_id, int64_t from_version,
      const ProductEventQuery& query, int max_count);
  // The stream's current version (0: no such product).
  absl::StatusOr<int64_t> Version(const std::string& product_id);

 private:
  eventstore::EventStore* events_;
};

}  // namespace inventory
