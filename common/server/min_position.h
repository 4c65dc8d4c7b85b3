#pragma once

#include <algorithm>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/eventstore/position_token.h"
#include "common/eventstore/projection.h"
#include "grpcpp/grpcpp.h"

namespace shop {

// A query waits this long for its min_position when the caller set no
// deadline.
inline constexpr absl::Duration kMaxMinPositionWait = absl::Seconds(5);

// A read-model query's `min_position` field (empty: none) and the caller's
// deadline to wait for it within.
inline absl::StatusOr<eventstore::MinPosition> MinPositionOf(
    const grpc::ServerContextBase& context, const std::string& token) {
  eventstore::MinPosition min;
  if (token.empty()) return min;
  absl::StatusOr<eventstore::GlobalPosition> position =
      eventstore::ParsePositionToken(token, "min_position");
  if (!position.ok()) return position.status();
  min.position = *position;
  // Ends early enough for PROJECTION_BEHIND, and how far behind, to reach
  // the caller before its own deadline does.
  const absl::Time now = absl::Now();
  const absl::Time deadline = absl::FromChrono(context.deadline());
  const absl::Duration margin =
      std::min((deadline - now) / 5, absl::Milliseconds(250));
  min.deadline = std::min(deadline - margin, now + kMaxMinPositionWait);
  return min;
}

}  // namespace shop
