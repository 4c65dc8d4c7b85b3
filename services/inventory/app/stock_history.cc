#include "services/inventory/app/stock_history.h"

#include <algorithm>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/logging/log.h"
#include "services/inventory/domain/domain_errors.h"

namespace inventory {
namespace {

// Checkpoints a long fold holds before it writes them.
constexpr size_t kCheckpointBatch = 64;
// Events read per page once past the first one.
constexpr int kFoldPage = 1000;

}  // namespace

absl::StatusOr<LoadedProduct> StockHistory::AsOf(const std::string& product_id,
                                                 absl::Time requested) {
  // Times are stored in microseconds: an event is in when at or before the
  // whole microsecond that as_of falls in.
  const absl::Time as_of = absl::FromUnixMicros(absl::ToUnixMicros(requested));
  absl::StatusOr<std::optional<Checkpoint>> start =
      history_->LatestCheckpoint(product_id, as_of);
  if (!start.ok()) return start.status();
  LoadedProduct loaded;
  if (start->has_value()) {
    loaded.product = std::move((*start)->product);
    loaded.version = (*start)->version;
  }
  std::vector<Checkpoint> pending;
  absl::Status written = absl::OkStatus();
  auto flush = [&] {
    if (written.ok()) written = history_->WriteCheckpoints(product_id, pending);
    pending.clear();
  };
  // A checkpoint is at most kCheckpointEvery - 1 events behind: the first
  // page is usually the last.
  int page_size = static_cast<int>(kCheckpointEvery);
  const ProductEventQuery until{.to_time = as_of + absl::Microseconds(1)};
  bool done = false;
  while (!done) {
    // Bounded by as_of in the database: no event after it is read.
    absl::StatusOr<std::vector<eventstore::RecordedEvent>> page =
        history_->ReadEvents(product_id, loaded.version + 1, until, page_size);
    if (!page.ok()) return page.status();
    for (const eventstore::RecordedEvent& recorded : *page) {
      if (recorded.recorded_at > as_of) {
        done = true;
        break;
      }
      absl::StatusOr<Event> event = FromJson(recorded.type, recorded.data_json);
      if (!event.ok()) return event.status();
      loaded.product = Evolve(std::move(loaded.product), *event);
      loaded.version = recorded.version;
      if (loaded.version % kCheckpointEvery == 0) {
        pending.push_back(
            {loaded.version, recorded.recorded_at, loaded.product});
        if (pending.size() >= kCheckpointBatch) flush();
      }
    }
    if (static_cast<int>(page->size()) < page_size) done = true;
    page_size = kFoldPage;
  }
  flush();
  // The answer stands without them: the next read folds again.
  if (!written.ok()) {
    shop::LogJson("warn", absl::StrCat("checkpoints of ", product_id, ": ",
                                       written.ToString()));
  }
  if (loaded.version == 0) return errors::ProductNotFound(product_id);
  loaded.snapshot_version = loaded.version;
  return loaded;
}

absl::StatusOr<std::vector<eventstore::RecordedEvent>> StockHistory::ListEvents(
    const std::string& product_id, int64_t from_version,
    const ProductEventQuery& query, int max_count) {
  absl::StatusOr<std::vector<eventstore::RecordedEvent>> events =
      history_->ReadEvents(product_id, from_version, query, max_count);
  if (events.ok() && events->empty()) {
    // An empty page of a product that exists is an answer; of none, not.
    absl::StatusOr<int64_t> version = history_->Version(product_id);
    if (!version.ok()) return version.status();
    if (*version == 0) return errors::ProductNotFound(product_id);
  }
  return events;
}

absl::StatusOr<std::vector<StockPoint>> StockHistory::Series(
    const std::string& product_id, int max_points) {
  absl::StatusOr<int64_t> version = history_->Version(product_id);
  if (!version.ok()) return version.status();
  if (*version == 0) return errors::ProductNotFound(product_id);
  int64_t first = std::max<int64_t>(1, *version - max_points + 1);
  LoadedProduct start;
  if (first > 1) {
    absl::StatusOr<std::vector<eventstore::RecordedEvent>> before =
        history_->ReadForward(product_id, first - 1, 1);
    if (!before.ok()) return before.status();
    if (before->empty()) return errors::ProductNotFound(product_id);
    absl::StatusOr<LoadedProduct> folded =
        AsOf(product_id, before->front().recorded_at);
    if (!folded.ok()) return folded.status();
    start = *std::move(folded);
    // Events recorded in the same microsecond are all in the fold.
    first = start.version + 1;
  }
  absl::StatusOr<std::vector<eventstore::RecordedEvent>> events =
      history_->ReadForward(product_id, first, max_points);
  if (!events.ok()) return events.status();
  std::vector<StockPoint> points;
  points.reserve(events->size());
  for (const eventstore::RecordedEvent& recorded : *events) {
    absl::StatusOr<Event> event = FromJson(recorded.type, recorded.data_json);
    if (!event.ok()) return event.status();
    start.product = Evolve(std::move(start.product), *event);
    points.push_back({recorded.version, recorded.recorded_at, recorded.type,
                      start.product.warehouses()});
  }
  return points;
}

absl::StatusOr<std::vector<eventstore::RecordedEvent>>
StockHistory::ListByCorrelation(const std::string& correlation_id,
                                eventstore::GlobalPosition after,
                                int max_count) {
  return events_->ReadByCorrelation(correlation_id, after, max_count);
}

}  // namespace inventory
