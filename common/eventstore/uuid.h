#pragma once

#include <string>

#include "absl/strings/string_view.h"

namespace eventstore {

// A time-ordered (version 7) UUID in canonical lower-case form: 48 bits
// of Unix milliseconds, then 74 random bits. Ids made later sort later, so
// an index of them grows at its right edge instead of at random pages.
std::string NewUuid();

// Whether `text` is a UUID in canonical 8-4-4-4-12 hex form.
bool IsUuid(absl::string_view text);

}  // namespace eventstore
