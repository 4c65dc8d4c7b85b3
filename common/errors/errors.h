#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "google/rpc/error_details.pb.h"

// Errors with a machine-readable reason: a google.rpc.ErrorInfo rides in the
// absl::Status payload, and the gRPC mapping turns it into error details.
namespace shop {

inline constexpr absl::string_view kErrorInfoTypeUrl =
    "type.googleapis.com/google.rpc.ErrorInfo";

using ErrorFacts = std::vector<std::pair<std::string, std::string>>;

// A status with `reason` (UPPER_SNAKE_CASE) from `domain` and optional facts.
absl::Status MakeError(absl::StatusCode code, absl::string_view domain,
                       absl::string_view reason, absl::string_view message,
                       const ErrorFacts& facts = {});

// The ErrorInfo attached to `status`, if any.
std::optional<google::rpc::ErrorInfo> ErrorInfoOf(const absl::Status& status);

// The reason attached to `status`, or "" when there is none.
std::string ReasonOf(const absl::Status& status);

// The fact a failed write carries when it certainly took no effect (a
// statement cancelled in time, an append dropped before it was sent).
inline constexpr char kWrittenFact[] = "written";
inline constexpr char kNotWritten[] = "no";

// Whether a write that failed with `status` may still have taken effect:
// its answer was lost (connection, deadline) or nobody chose to refuse it,
// unless the status says it was not written. Such a write is neither
// redone nor undone blindly.
bool OutcomeUnknown(const absl::Status& status);

}  // namespace shop
