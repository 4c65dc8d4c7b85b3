#pragma once

#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"

namespace shop::testing {

// The value of one series (name and rendered labels, as in
// `a_total{kind="x"}`) in a Prometheus text exposition; 0 when absent,
// which is what Prometheus assumes of a counter not yet written.
inline double MetricValue(absl::string_view exposition,
                          absl::string_view series) {
  for (absl::string_view line : absl::StrSplit(exposition, '\n')) {
    if (line.size() > series.size() &&
        line.substr(0, series.size()) == series && line[series.size()] == ' ') {
      double value = 0;
      if (absl::SimpleAtod(line.substr(series.size() + 1), &value)) {
        return value;
      }
    }
  }
  return 0;
}

}  // namespace shop::testing
