#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"

namespace eventstore {

// What the writer believes about a stream's version before appending.
// Versions start at 1; a stream that does not exist has version 0.
class ExpectedVersion final {
 public:
  enum class Kind { kAny, kNoStream, kStreamExists, kExact };

  static ExpectedVersion Any() { return ExpectedVersion(Kind::kAny, 0); }
  static ExpectedVersion NoStream() {
    return ExpectedVersion(Kind::kNoStream, 0);
  }
  static ExpectedVersion StreamExists() {
    return ExpectedVersion(Kind::kStreamExists, 0);
  }
  // Exactly(0) is the same as NoStream().
  static ExpectedVersion Exactly(int64_t version) {
    return version == 0 ? NoStream() : ExpectedVersion(Kind::kExact, version);
  }

  Kind kind() const { return kind_; }
  int64_t version() const { return version_; }
  // Whether a stream at `actual` satisfies this expectation.
  bool Accepts(int64_t actual) const;
  // "any", "no_stream", "stream_exists" or the number.
  std::string ToString() const;

  friend bool operator==(const ExpectedVersion&,
                         const ExpectedVersion&) = default;

 private:
  ExpectedVersion(Kind kind, int64_t version)
      : kind_(kind), version_(version) {}

  Kind kind_;
  int64_t version_;
};

// The typed form of a WRONG_EXPECTED_VERSION error.
struct WrongExpectedVersion {
  std::string stream;
  std::string expected;
  int64_t actual = 0;
};

inline constexpr char kWrongExpectedVersionReason[] = "WRONG_EXPECTED_VERSION";

// ABORTED with reason WRONG_EXPECTED_VERSION and the three facts.
absl::Status WrongExpectedVersionError(const std::string& stream,
                                       const ExpectedVersion& expected,
                                       int64_t actual);

// The facts of a WRONG_EXPECTED_VERSION error, if `status` is one.
std::optional<WrongExpectedVersion> AsWrongExpectedVersion(
    const absl::Status& status);

// Sleeps a short random while before optimistic attempt `attempt` (2, 3,
// ...): writers that keep colliding on one stream spread out instead of
// colliding again in lockstep. Up to 2^attempt ms, capped at 50 ms.
void BackoffBeforeRetry(int attempt);

}  // namespace eventstore
