// Owns the escaping of PostgreSQL array literal elements.
#include "common/eventstore/array_literal.h"

#include <utility>

#include "absl/strings/str_replace.h"

namespace eventstore {

void ArrayLiteral::Separate() {
  if (out_.size() > 1) out_.push_back(',');
}

void ArrayLiteral::Add(absl::string_view element) {
  Separate();
  out_.push_back('"');
  out_ += absl::StrReplaceAll(element, {{"\\", "\\\\"}, {"\"", "\\\""}});
  out_.push_back('"');
}

void ArrayLiteral::AddNull() {
  Separate();
  out_ += "NULL";
}

std::string ArrayLiteral::Finish() && {
  out_.push_back('}');
  return std::move(out_);
}

}  // namespace eventstore
