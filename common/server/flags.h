#pragma once

#include <cstdint>
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

// A rule a flag's value must follow, e.g. {"pool_size", n >= 1, "1 to 1000"}.
struct FlagRule {
  std::string flag;
  bool holds = true;
  std::string allowed;
};

// Logs every broken rule as one JSON line naming the flag, its value and
// what is allowed, then exits 2; returns when every rule holds.
void EnforceFlagRules(const std::vector<FlagRule>& rules);

// Whether `value` is in [min, max], and the rule's text for it.
FlagRule InRange(const std::string& flag, int64_t value, int64_t min,
                 int64_t max);

}  // namespace shop
