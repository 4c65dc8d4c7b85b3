#include "common/server/validation.h"

#include "absl/strings/str_cat.h"
#include "common/errors/errors.h"
#include "common/util/utf8.h"

namespace shop {
absl::Status InvalidField(absl::string_view field, absl::string_view message) {
  return MakeError(absl::StatusCode::kInvalidArgument, "shop", "INVALID_FIELD",
                   absl::StrCat(field, " ", message),
                   {{"field", std::string(field)}});
}

absl::Status ValidateId(absl::string_view field, absl::string_view value) {
  if (value.empty()) return InvalidField(field, "is required");
  if (value.size() > kMaxIdBytes) {
    return InvalidField(field, absl::StrCat("must be at most ", kMaxIdBytes,
                                            " bytes, got ", value.size()));
  }
  for (char c : value) {
    if (c <= 0x20 || c >= 0x7f) {
      return InvalidField(field,
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
    return InvalidField(field, absl::StrCat("must be between ", min, " and ",
                                            max, ", got ", value));
  }
  return absl::OkStatus();
}

absl::Status ValidateEnum(absl::string_view field, int value, bool known,
                          bool unspecified_allowed) {
  if (!known) return InvalidField(field, absl::StrCat("has no value ", value));
  if (value == 0 && !unspecified_allowed) {
    return InvalidField(field, "must be set (UNSPECIFIED is not a value)");
  }
  return absl::OkStatus();
}

absl::Status ValidateSlug(absl::string_view field, absl::string_view value,
                          size_t max_bytes) {
  if (value.empty() || value.size() > max_bytes) {
    return InvalidField(field, absl::StrCat("must be 1 to ", max_bytes,
                                            " bytes, got ", value.size()));
  }
  for (char c : value) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
          c == '_')) {
      return InvalidField(field,
                          "must be lower-case letters, digits, '-' or '_'");
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateQuantity(absl::string_view field, int64_t value) {
  return ValidateRange(field, value, 1, kMaxQuantity);
}

absl::Status ValidateText(absl::string_view field, absl::string_view value,
                          size_t min_bytes, size_t max_bytes) {
  if (value.size() < min_bytes || value.size() > max_bytes) {
    return InvalidField(field,
                        absl::StrCat("must be ", min_bytes, " to ", max_bytes,
                                     " bytes, got ", value.size()));
  }
  for (size_t i = 0; i < value.size();) {
    size_t length = Utf8SequenceLength(value.substr(i));
    if (length == 0) return InvalidField(field, "must be valid UTF-8");
    if (length == 1 &&
        (static_cast<unsigned char>(value[i]) < 0x20 || value[i] == 0x7f)) {
      return InvalidField(field, "must not contain control characters");
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
