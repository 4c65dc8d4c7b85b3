#pragma once

#include <optional>
#include <ostream>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/errors/errors.h"
#include "common/rpc/status_mapping.h"
#include "gmock/gmock.h"
#include "grpcpp/support/status.h"

// One matcher for an error's code and, optionally, its ErrorInfo reason, on
// absl::Status, absl::StatusOr<T> and grpc::Status alike:
//   EXPECT_THAT(result, StatusIs(absl::StatusCode::kNotFound,
//   "CART_NOT_FOUND"));
namespace shop::testing {

namespace internal {

inline const absl::Status& AsStatus(const absl::Status& status) {
  return status;
}
template <typename T>
const absl::Status& AsStatus(const absl::StatusOr<T>& result) {
  return result.status();
}
inline absl::Status AsStatus(const grpc::Status& status) {
  return shop::FromGrpcStatus(status);
}

class StatusIsMatcher {
 public:
  StatusIsMatcher(absl::StatusCode code, std::optional<std::string> reason)
      : code_(code), reason_(std::move(reason)) {}

  template <typename T>
  bool MatchAndExplain(const T& value,
                       ::testing::MatchResultListener* listener) const {
    const absl::Status status = AsStatus(value);
    *listener << "whose status is " << status;
    const std::string reason = shop::ReasonOf(status);
    if (reason_.has_value()) *listener << " (reason \"" << reason << "\")";
    return status.code() == code_ &&
           (!reason_.has_value() || reason == *reason_);
  }
  void DescribeTo(std::ostream* os) const {
    *os << "has code " << absl::StatusCodeToString(code_);
    if (reason_.has_value()) *os << " and reason \"" << *reason_ << "\"";
  }
  void DescribeNegationTo(std::ostream* os) const {
    *os << "does not ";
    DescribeTo(os);
  }

 private:
  absl::StatusCode code_;
  std::optional<std::string> reason_;
};

}  // namespace internal

// Matches a status (or result, or gRPC status) with `code`, and with
// `reason` in its ErrorInfo when one is given.
inline ::testing::PolymorphicMatcher<internal::StatusIsMatcher> StatusIs(
    absl::StatusCode code, std::optional<std::string> reason = std::nullopt) {
  return ::testing::MakePolymorphicMatcher(
      internal::StatusIsMatcher(code, std::move(reason)));
}

// Matches an OK status or a result holding a value.
inline ::testing::PolymorphicMatcher<internal::StatusIsMatcher> IsOk() {
  return StatusIs(absl::StatusCode::kOk);
}

// Expects INVALID_ARGUMENT naming `field` in the message and in the
// ErrorInfo, and the limit it broke in the message when one is given.
inline void ExpectInvalidField(const absl::Status& status,
                               const std::string& field,
                               const std::string& limit = "") {
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(status.message(), ::testing::HasSubstr(field));
  if (!limit.empty()) {
    EXPECT_THAT(status.message(), ::testing::HasSubstr(limit));
  }
  ASSERT_TRUE(ErrorInfoOf(status).has_value()) << status;
  EXPECT_EQ(ErrorInfoOf(status)->metadata().at("field"), field);
}

}  // namespace shop::testing
