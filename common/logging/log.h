#pragma once

#include "absl/strings/string_view.h"

// One JSON log line per call, for every layer: the app layers log through
// this without linking the gRPC server.
namespace shop {

// Prints one JSON log line to stdout: {"time", "level", "message"}.
void LogJson(const char* level, absl::string_view message);

}  // namespace shop
