#pragma once

#include <cstdint>
#include <initializer_list>
#include <limits>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

// Input checks shared by both services. Each failure is INVALID_ARGUMENT
// naming the field and the limit, with reason INVALID_FIELD.
namespace shop {

inline constexpr size_t kMaxIdBytes = 128;
inline constexpr int64_t kMaxQuantity = 1'000'000;

// 1 to 128 bytes of printable ASCII without spaces.
absl::Status ValidateId(absl::string_view field, absl::string_view value);
// The same rules, but empty is allowed.
absl::Status ValidateOptionalId(absl::string_view field,
                                absl::string_view value);
// min..max inclusive.
absl::Status ValidateRange(absl::string_view field, int64_t value, int64_t min,
                           int64_t max);
// 1..1,000,000.
absl::Status ValidateQuantity(absl::string_view field, int64_t value);
// Valid UTF-8 without control characters, min_bytes..max_bytes long.
absl::Status ValidateText(absl::string_view field, absl::string_view value,
                          size_t min_bytes, size_t max_bytes);

// A protobuf enum value: one the enum defines (`known`), and not 0, the
// UNSPECIFIED value, unless `unspecified_allowed`.
absl::Status ValidateEnum(absl::string_view field, int value, bool known,
                          bool unspecified_allowed = false);
// An id of a kind with a small alphabet: 1..max_bytes of [a-z0-9_-].
absl::Status ValidateSlug(absl::string_view field, absl::string_view value,
                          size_t max_bytes);
// INVALID_ARGUMENT / INVALID_FIELD: "`field` `message`".
absl::Status InvalidField(absl::string_view field, absl::string_view message);
// The first failed check, or OK.
absl::Status FirstError(std::initializer_list<absl::Status> checks);

// A request's optional expected_version, when present, is not negative.
template <typename Request>
absl::Status ValidateExpectedVersion(const Request& request) {
  if (!request.has_expected_version()) return absl::OkStatus();
  return ValidateRange("expected_version", request.expected_version(), 0,
                       std::numeric_limits<int64_t>::max());
}

}  // namespace shop
