#include "common/server/validation.h"

#include "absl/strings/str_cat.h"
#include "common/errors/errors.h"

namespace shop {
namespace {

absl::Status Invalid(absl::string_view field, absl::string_view message) {
  return MakeError(absl::StatusCode::kInvalidArgument, "shop", "INVALID_FIELD",
                   absl::StrCat(field, " ", message),
                   {{"field", std::string(field)}});
}

// Length of the UTF-8 sequence starting at `s[i]`, or 0 if malformed.
size_t Utf8Length(absl::string_view s, size_t i) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char lead = byte(i);
  size_t length = lead < 0x80           ? 1
                  : (lead >> 5) == 0x6  ? 2
                  : (lead >> 4) == 0xE  ? 3
                  : (lead >> 3) == 0x1E ? 4
                                        : 0;
  if (length == 0 || i + length > s.size()) return 0;
  for (size_t k = 1; k < length; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
  }
  return length;
}

}  // namespace

absl::Status ValidateId(absl::string_view field, absl::string_view value) {
  if (value.empty()) return Invalid(field, "is required");
  if (value.size() > kMaxIdBytes) {
    return Invalid(field, absl::StrCat("must be at most ", kMaxIdBytes,
                                       " bytes, got ", value.size()));
  }
  for (char c : value) {
    if (c <= 0x20 || c >= 0x7f) {
      return Invalid(field,
                     "must be printable ASCII without spaces or control "
                     "characters");
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateOptionalId(absl::string_view field,
                                absl::string_view value) {
  return value.empty() ? absl::OkStatus() : ValidateId(field, value);
}

absl::Status ValidateRange(absl::string_view field, int64_t value, int64_t min,
                           int64_t max) {
  if (value < min || value > max) {
    return Invalid(field, absl::StrCat("must be between ", min, " and ", max,
                                       ", got ", value));
  }
  return absl::OkStatus();
}

absl::Status ValidateQuantity(absl::string_view field, int64_t value) {
  return ValidateRange(field, value, 1, kMaxQuantity);
}

absl::Status ValidateText(absl::string_view field, absl::string_view value,
                          size_t min_bytes, size_t max_bytes) {
  if (value.size() < min_bytes || value.size() > max_bytes) {
    return Invalid(field, absl::StrCat("must be ", min_bytes, " to ", max_bytes,
                                       " bytes, got ", value.size()));
  }
  for (size_t i = 0; i < value.size();) {
    size_t length = Utf8Length(value, i);
    if (length == 0) return Invalid(field, "must be valid UTF-8");
    if (length == 1 &&
        (static_cast<unsigned char>(value[i]) < 0x20 || value[i] == 0x7f)) {
      return Invalid(field, "must not contain control characters");
    }
    i += length;
  }
  return absl::OkStatus();
}

absl::Status FirstError(std::initializer_list<absl::Status> checks) {
  for (const absl::Status& check : checks) {
    if (!check.ok()) return check;
  }
  return absl::OkStatus();
}

}  // namespace shop
