#pragma once

#include <cstddef>

#include "absl/strings/string_view.h"

namespace shop {

// The length of the well-formed UTF-8 sequence `text` starts with, or 0 when
// it is malformed (overlong forms, surrogates and code points above U+10FFFF
// included), truncated or empty. PostgreSQL refuses anything this refuses.
size_t Utf8SequenceLength(absl::string_view text);

}  // namespace shop
