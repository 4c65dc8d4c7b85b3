// Owns expected versions (any, no_stream, stream_exists, exact), the
// WRONG_EXPECTED_VERSION error and its facts, and the backoff between tries.
#include "common/eventstore/expected_version.h"

#include <algorithm>

#include "absl/random/random.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/errors/errors.h"

namespace eventstore {

bool ExpectedVersion::Accepts(int64_t actual) const {
  switch (kind_) {
    case Kind::kAny:
      return true;
    case Kind::kNoStream:
      return actual == 0;
    case Kind::kStreamExists:
      return actual > 0;
    case Kind::kExact:
      return actual == version_;
  }
  return false;
}

std::string ExpectedVersion::ToString() const {
  switch (kind_) {
    case Kind::kAny:
      return "any";
    case Kind::kNoStream:
      return "no_stream";
    case Kind::kStreamExists:
      return "stream_exists";
    case Kind::kExact:
      return absl::StrCat(version_);
  }
  return "?";
}

absl::Status WrongExpectedVersionError(const std::string& stream,
                                       const ExpectedVersion& expected,
                                       int64_t actual) {
  return shop::MakeError(
      absl::StatusCode::kAborted, "eventstore", kWrongExpectedVersionReason,
      absl::StrCat("wrong expected version for ", stream, ": expected ",
                   expected.ToString(), ", actual ", actual),
      {{"stream", stream},
       {"expected", expected.ToString()},
       {"actual", absl::StrCat(actual)}});
}

std::optional<WrongExpectedVersion> AsWrongExpectedVersion(
    const absl::Status& status) {
  std::optional<google::rpc::ErrorInfo> info = shop::ErrorInfoOf(status);
  if (!info.has_value() || info->reason() != kWrongExpectedVersionReason) {
    return std::nullopt;
  }
  WrongExpectedVersion result;
  result.stream = info->metadata().at("stream");
  result.expected = info->metadata().at("expected");
  if (!absl::SimpleAtoi(info->metadata().at("actual"), &result.actual)) {
    return std::nullopt;
  }
  return result;
}

void BackoffBeforeRetry(int attempt) {
  if (attempt < 2) return;
  thread_local absl::BitGen gen;
  const int64_t ceiling_ms =
      std::min<int64_t>(int64_t{1} << std::min(attempt, 6), 50);
  absl::SleepFor(
      absl::Microseconds(absl::Uniform<int64_t>(gen, 0, ceiling_ms * 1000)));
}

}  // namespace eventstore
