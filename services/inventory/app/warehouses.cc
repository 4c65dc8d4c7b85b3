// Owns which warehouses are known to exist, and the check of a command's.
#include "services/inventory/app/warehouses.h"

#include "absl/strings/str_cat.h"
#include "common/errors/errors.h"
#include "services/inventory/domain/events.h"

namespace inventory {

KnownWarehouses::KnownWarehouses(WarehouseStore* store) : store_(store) {
  known_.insert(kMainWarehouse);
}

bool KnownWarehouses::AllKnown(const std::vector<std::string>& ids) const {
  absl::MutexLock lock(&mu_);
  for (const std::string& id : ids) {
    if (!known_.contains(id)) return false;
  }
  return true;
}

absl::Status KnownWarehouses::Check(const std::vector<std::string>& ids) {
  for (const std::string& id : ids) {
    if (AllKnown({id})) continue;
    absl::StatusOr<bool> exists = store_->Exists(id);
    if (!exists.ok()) return exists.status();
    if (!*exists) {
      return shop::MakeError(
          absl::StatusCode::kNotFound, kErrorDomain, "WAREHOUSE_NOT_FOUND",
          absl::StrCat("warehouse ", id, " not found"), {{"warehouse_id", id}});
    }
    Learn(id);
  }
  return absl::OkStatus();
}

void KnownWarehouses::Learn(const std::string& id) {
  absl::MutexLock lock(&mu_);
  known_.insert(id);
}

}  // namespace inventory
