#pragma once

#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace shop {

// Parses the command line after applying environment variables: each flag
// defined under services/ or common/ may be set by PREFIX + its name in
// upper case (INVENTORY_LISTEN for --listen); the command line wins.
// Returns the positional arguments (argv[0] first). Exits on bad values.
std::vector<std::string> ParseFlagsWithEnvironment(int argc, char** argv,
                                                   absl::string_view prefix,
                                                   absl::string_view usage);

}  // namespace shop
