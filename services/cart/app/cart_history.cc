#include "services/cart/app/cart_history.h"

namespace cart {

absl::StatusOr<std::vector<eventstore::RecordedEvent>>
CartHistory::ListByCorrelation(const std::string& correlation_id,
                               eventstore::GlobalPosition after,
                               int max_count) {
  return events_->ReadByCorrelation(correlation_id, after, max_count);
}

}  // namespace cart
