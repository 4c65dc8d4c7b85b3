#pragma once

#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "services/inventory/store/warehouse_store.h"

namespace inventory {

// The warehouses a command may name. Warehouses are never removed, so one
// seen once is known for good and is checked without the database; `main`
// exists from a migration.
class KnownWarehouses final {
 public:
  explicit KnownWarehouses(WarehouseStore* store);

  // Whether all of `ids` are known without asking the database.
  bool AllKnown(const std::vector<std::string>& ids) const;
  // OK when all of `ids` exist, else NOT_FOUND / WAREHOUSE_NOT_FOUND naming
  // the first that does not; asks the database about those not known.
  absl::Status Check(const std::vector<std::string>& ids);
  void Learn(const std::string& id);

 private:
  WarehouseStore* const store_;
  mutable absl::Mutex mu_;
  absl::flat_hash_set<std::string> known_ ABSL_GUARDED_BY(mu_);
};

}  // namespace inventory
