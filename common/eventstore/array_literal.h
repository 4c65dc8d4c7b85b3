#pragma once

// Owns the text form of PostgreSQL array literals ({"a","b\"c",NULL}), the
// way the store passes many values in one parameter.
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace eventstore {

// Builds one array literal, element by element.
class ArrayLiteral final {
 public:
  ArrayLiteral() = default;

  // A quoted element: any text, quotes and backslashes escaped.
  void Add(absl::string_view element);
  void AddNull();
  // The literal; the builder is spent.
  std::string Finish() &&;

 private:
  void Separate();

  std::string out_ = "{";
};

// A time as PostgreSQL reads a timestamptz, in UTC to the nanosecond.
inline std::string TimestampText(absl::Time t) {
  return absl::FormatTime(absl::RFC3339_full, t, absl::UTCTimeZone());
}

// The literal of the given elements, in order.
template <typename Range, typename Fn>
std::string ArrayLiteralOf(const Range& range, Fn element_of) {
  ArrayLiteral literal;
  for (const auto& item : range) literal.Add(element_of(item));
  return std::move(literal).Finish();
}

}  // namespace eventstore
