#pragma once

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

// The inventory domain's refusals, each with its reason and facts.
namespace inventory::errors {

absl::Status ProductNotFound(const std::string& product_id);
// FAILED_PRECONDITION / INSUFFICIENT_STOCK; `warehouse_id` empty when the
// product's total was asked for.
absl::Status InsufficientStock(const std::string& product_id,
                               const std::string& warehouse_id,
                               int64_t requested, int64_t available);
// FAILED_PRECONDITION / `reason`: a refusal by a business rule.
absl::Status Refused(absl::string_view reason, const std::string& product_id,
                     absl::string_view message);
// The same id with other content: FAILED_PRECONDITION / `reason`, naming
// the field, what was first recorded and what this call asks.
absl::Status Mismatch(absl::string_view reason, const std::string& product_id,
                      absl::string_view what, const std::string& id,
                      absl::string_view field, absl::string_view first,
                      absl::string_view now);

}  // namespace inventory::errors
