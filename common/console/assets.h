#pragma once

#include <vector>

#include "absl/strings/string_view.h"

namespace shop::console {

// One of the console's static files, compiled in (cmake/embed_files.cmake).
struct EmbeddedFile {
  absl::string_view name;  // "console.js"
  absl::string_view bytes;
};

const std::vector<EmbeddedFile>& Embedded();

}  // namespace shop::console
