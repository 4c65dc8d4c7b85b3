// Owns the wording, reasons and facts of the inventory domain's refusals.
#include "services/inventory/domain/domain_errors.h"

#include "absl/strings/str_cat.h"
#include "common/errors/errors.h"
#include "services/inventory/domain/events.h"

namespace inventory::errors {

absl::Status ProductNotFound(const std::string& product_id) {
  return shop::MakeError(absl::StatusCode::kNotFound, kErrorDomain,
                         "PRODUCT_NOT_FOUND",
                         absl::StrCat("product ", product_id, " not found"),
                         {{"product_id", product_id}});
}

absl::Status InsufficientStock(const std::string& product_id,
                               const std::string& warehouse_id,
                               int64_t requested, int64_t available) {
  shop::ErrorFacts facts = {{"product_id", product_id},
                            {"requested", absl::StrCat(requested)},
                            {"available", absl::StrCat(available)}};
  if (!warehouse_id.empty()) facts.push_back({"warehouse_id", warehouse_id});
  return shop::MakeError(
      absl::StatusCode::kFailedPrecondition, kErrorDomain, "INSUFFICIENT_STOCK",
      absl::StrCat("insufficient stock for ", product_id,
                   warehouse_id.empty() ? "" : " at ", warehouse_id,
                   ": requested ", requested, ", available ", available),
      facts);
}

absl::Status Refused(absl::string_view reason, const std::string& product_id,
                     absl::string_view message) {
  return shop::MakeError(absl::StatusCode::kFailedPrecondition, kErrorDomain,
                         reason, message, {{"product_id", product_id}});
}

absl::Status Mismatch(absl::string_view reason, const std::string& product_id,
                      absl::string_view what, const std::string& id,
                      absl::string_view field, absl::string_view first,
                      absl::string_view now) {
  return shop::MakeError(
      absl::StatusCode::kFailedPrecondition, kErrorDomain, reason,
      absl::StrCat(what, " ", id, " of ", product_id, " was recorded with ",
                   field, " ", first, ", not ", now),
      {{"product_id", product_id},
       {"id", id},
       {"field", std::string(field)},
       {"recorded", std::string(first)},
       {"requested", std::string(now)}});
}

}  // namespace inventory::errors
