#include "common/eventstore/position_token.h"

#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/errors/errors.h"

namespace eventstore {
namespace {

// A version tag, so that a future form can still read today's tokens.
constexpr absl::string_view kTag = "p1";

absl::Status NotAToken(absl::string_view field) {
  return shop::MakeError(
      absl::StatusCode::kInvalidArgument, "shop", "INVALID_FIELD",
      absl::StrCat(field, " must be a next_page_token this service returned"),
      {{"field", std::string(field)}});
}

}  // namespace

std::string EncodePositionToken(const GlobalPosition& position) {
  return absl::WebSafeBase64Escape(
      absl::StrCat(kTag, ":", position.transaction_id, ":", position.position));
}

absl::StatusOr<GlobalPosition> ParsePositionToken(absl::string_view token,
                                                  absl::string_view field) {
  std::string text;
  if (token.size() > 128 || !absl::WebSafeBase64Unescape(token, &text)) {
    return NotAToken(field);
  }
  std::vector<absl::string_view> parts = absl::StrSplit(text, ':');
  GlobalPosition position;
  if (parts.size() != 3 || parts[0] != kTag ||
      !absl::SimpleAtoi(parts[1], &position.transaction_id) ||
      !absl::SimpleAtoi(parts[2], &position.position) ||
      position.position < 0 || parts[2].empty() || parts[2][0] == '+' ||
      parts[1][0] == '+') {
    return NotAToken(field);
  }
  return position;
}

}  // namespace eventstore
