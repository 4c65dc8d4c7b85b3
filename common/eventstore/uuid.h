#pragma once

#include <string>

#include "absl/strings/string_view.h"

namespace eventstore {

// A random (version 4) UUID in canonical lower-case form.
std::string NewUuid();

// Whether `text` is a UUID in canonical 8-4-4-4-12 hex form.
bool IsUuid(absl::string_view text);

}  // namespace eventstore
