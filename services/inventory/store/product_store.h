#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/eventstore/event_store.h"
#include "common/eventstore/migrations.h"
#include "services/inventory/domain/product.h"

namespace inventory {

// "product-{id}": the stream of one product.
std::string StreamOf(const std::string& product_id);

struct LoadedProduct {
  Product product;
  int64_t version = 0;  // 0: the product does not exist
  // The version the stored snapshot reflects.
  int64_t snapshot_version = 0;
};

// The events of one command as the store writes them, with its metadata.
std::vector<eventstore::EventData> EventDataOf(
    const std::vector<Event>& events, const eventstore::Metadata& metadata);

// What a product's turn reads and writes: ProductStore over PostgreSQL, or
// a fake in the unit tests of the turn.
class ProductStorage {
 public:
  virtual ~ProductStorage() = default;

  virtual absl::StatusOr<LoadedProduct> Load(const std::string& product_id) = 0;
  // The latest event in history with the command's id (see HistoryKey).
  virtual absl::StatusOr<Past> FindPast(const std::string& product_id,
                                        const HistoryKey& key) = 0;
  // Appends `events` if the product is still at `expected_version`;
  // `after` is the state they lead to. `*snapshot_version` is the version
  // the stored snapshot reflects, moved when a new snapshot is written.
  // Not written at all once `deadline` has passed (APPEND_DEADLINE_PASSED).
  virtual absl::StatusOr<eventstore::AppendResult> Append(
      const std::string& product_id, int64_t expected_version,
      const std::vector<eventstore::EventData>& events, const Product& after,
      int64_t* snapshot_version, absl::Time deadline) = 0;
  // Append without waiting; `*snapshot_version` (which must live until
  // `done` runs) moves before `done` runs, as Append moves it.
  virtual void AppendAsync(const std::string& product_id,
                           int64_t expected_version,
                           std::vector<eventstore::EventData> events,
                           const Product& after, int64_t* snapshot_version,
                           absl::Time deadline,
                           eventstore::AppendCallback done) = 0;
};

// Products on top of the event store: loads from the snapshot row (plus any
// newer events), appends with the new snapshot in the same statement.
class ProductStore final : public ProductStorage {
 public:
  explicit ProductStore(eventstore::EventStore* events) : events_(events) {}

  // The inventory schema's own migrations, after the event store's.
  static std::vector<eventstore::Migration> Migrations();

  absl::StatusOr<LoadedProduct> Load(const std::string& product_id) override;
  absl::StatusOr<Past> FindPast(const std::string& product_id,
                                const HistoryKey& key) override;

  // `after` is stored as the new snapshot when enough events have passed
  // since `*snapshot_version`.
  absl::StatusOr<eventstore::AppendResult> Append(
      const std::string& product_id, int64_t expected_version,
      const std::vector<eventstore::EventData>& events, const Product& after,
      int64_t* snapshot_version, absl::Time deadline) override;
  void AppendAsync(const std::string& product_id, int64_t expected_version,
                   std::vector<eventstore::EventData> events,
                   const Product& after, int64_t* snapshot_version,
                   absl::Time deadline,
                   eventstore::AppendCallback done) override;

  absl::StatusOr<std::vector<eventstore::RecordedEvent>> ReadEvents(
      const std::string& product_id, int64_t from_version, int max_count);

  // Products holding a reservation that has expired by `now`.
  absl::StatusOr<std::vector<std::string>> ProductsDue(absl::Time now,
                                                       int max_count);
  // Products holding live reservations, and those with one overdue.
  absl::StatusOr<eventstore::DueSummary> SummarizeDue(absl::Time now) {
    return events_->SummarizeDue(now);
  }

 private:
  // The latest event of a type carrying ids of `kind` with id `id`.
  absl::StatusOr<Past> LatestWith(const std::string& product_id, IdKind kind,
                                  const std::string& id);

  eventstore::EventStore* events_;
};

}  // namespace inventory
