#include "common/errors/errors.h"

#include "absl/strings/cord.h"

namespace shop {

absl::Status MakeError(absl::StatusCode code, absl::string_view domain,
                       absl::string_view reason, absl::string_view message,
                       const ErrorFacts& facts) {
  absl::Status status(code, message);
  google::rpc::ErrorInfo info;
  info.set_reason(std::string(reason));
  info.set_domain(std::string(domain));
  for (const auto& [key, value] : facts) {
    (*info.mutable_metadata())[key] = value;
  }
  status.SetPayload(kErrorInfoTypeUrl, absl::Cord(info.SerializeAsString()));
  return status;
}

std::optional<google::rpc::ErrorInfo> ErrorInfoOf(const absl::Status& status) {
  auto payload = status.GetPayload(kErrorInfoTypeUrl);
  if (!payload.has_value()) return std::nullopt;
  google::rpc::ErrorInfo info;
  if (!info.ParseFromString(std::string(*payload))) return std::nullopt;
  return info;
}

std::string ReasonOf(const absl::Status& status) {
  std::optional<google::rpc::ErrorInfo> info = ErrorInfoOf(status);
  return info.has_value() ? info->reason() : "";
}

bool OutcomeUnknown(const absl::Status& status) {
  if (std::optional<google::rpc::ErrorInfo> info = ErrorInfoOf(status);
      info.has_value()) {
    auto written = info->metadata().find(kWrittenFact);
    if (written != info->metadata().end() && written->second == kNotWritten) {
      return false;
    }
  }
  switch (status.code()) {
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
    case absl::StatusCode::kCancelled:
    case absl::StatusCode::kUnknown:
    case absl::StatusCode::kInternal:
    case absl::StatusCode::kDataLoss:
      return true;
    default:
      return false;
  }
}

}  // namespace shop
