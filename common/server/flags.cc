#include "common/server/flags.h"

#include <cstdio>
#include <cstdlib>

#include "absl/flags/parse.h"
#include "absl/flags/reflection.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/logging/log.h"

namespace shop {
namespace {

bool IsOurs(absl::string_view file) {
  return absl::StrContains(file, "services/") ||
         absl::StrContains(file, "common/");
}

}  // namespace

std::vector<std::string> ParseFlagsWithEnvironment(int argc, char** argv,
                                                   absl::string_view prefix,
                                                   absl::string_view usage) {
  absl::FlagsUsageConfig config;
  config.contains_help_flags = IsOurs;
  config.contains_helpshort_flags = IsOurs;
  absl::SetFlagsUsageConfig(config);

  std::string text = absl::StrCat(usage,
                                  "\n\nEvery flag can also be set by "
                                  "an environment variable: ",
                                  prefix, "<FLAG NAME IN UPPER CASE>, e.g.\n");
  for (const auto& [name, flag] : absl::GetAllFlags()) {
    if (!IsOurs(flag->Filename())) continue;
    const std::string variable =
        absl::StrCat(prefix, absl::AsciiStrToUpper(name));
    absl::StrAppend(&text, "  --", name, "  <-  ", variable, "\n");
    const char* value = std::getenv(variable.c_str());
    if (value == nullptr) continue;
    std::string error;
    if (!flag->ParseFrom(value, &error)) {
      std::fprintf(stderr, "%s: %s\n", variable.c_str(), error.c_str());
      std::exit(2);
    }
  }
  absl::SetProgramUsageMessage(text);
  std::vector<char*> positional = absl::ParseCommandLine(argc, argv);
  return std::vector<std::string>(positional.begin(), positional.end());
}

void EnforceFlagRules(const std::vector<FlagRule>& rules) {
  bool broken = false;
  for (const FlagRule& rule : rules) {
    if (rule.holds) continue;
    broken = true;
    const absl::CommandLineFlag* flag = absl::FindCommandLineFlag(rule.flag);
    LogJson("error", absl::StrCat("--", rule.flag, "=",
                                  flag == nullptr ? "?" : flag->CurrentValue(),
                                  ": must be ", rule.allowed));
  }
  if (broken) std::exit(2);
}

FlagRule InRange(const std::string& flag, int64_t value, int64_t min,
                 int64_t max) {
  return {flag, value >= min && value <= max, absl::StrCat(min, " to ", max)};
}

}  // namespace shop
