#pragma once

#include <cstdint>
#include <optional>

#include "absl/status/statusor.h"
#include "common/eventstore/event_store.h"
#include "common/eventstore/expected_version.h"
#include "gtest/gtest.h"

namespace shop::testing {

// Expects an append refused with WRONG_EXPECTED_VERSION at version `actual`.
inline void ExpectWrongVersion(
    const absl::StatusOr<eventstore::AppendResult>& result, int64_t actual) {
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kAborted);
  std::optional<eventstore::WrongExpectedVersion> wrong =
      eventstore::AsWrongExpectedVersion(result.status());
  ASSERT_TRUE(wrong.has_value()) << result.status();
  EXPECT_EQ(wrong->actual, actual);
}

}  // namespace shop::testing
