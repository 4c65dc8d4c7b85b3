#pragma once

// Owns the page tokens of reads paged by global position: an opaque string
// a caller hands back unchanged, so the position's form can change later.
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/eventstore/event_store.h"

namespace eventstore {

// The token of the page that starts after `position`.
std::string EncodePositionToken(const GlobalPosition& position);

// The inverse; INVALID_ARGUMENT / INVALID_FIELD naming `field` for anything
// EncodePositionToken did not make.
absl::StatusOr<GlobalPosition> ParsePositionToken(absl::string_view token,
                                                  absl::string_view field);

}  // namespace eventstore
