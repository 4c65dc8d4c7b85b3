#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "common/eventstore/connection_pool.h"

namespace eventstore {

// One versioned change to a service's schema. `sql` may contain
// `{schema}`, replaced by the (validated) schema name.
struct Migration {
  std::string id;  // sorts in application order, e.g. "0100_reservations"
  std::string sql;
};

// The event store's own tables: streams (version + snapshot) and events.
const std::vector<Migration>& EventStoreMigrations();

// Creates `schema` if needed and applies, in one transaction under an
// advisory lock, the event store's migrations and then `service_migrations`
// that are not yet recorded. Safe to run from many processes at once.
absl::Status Migrate(ConnectionPool& pool, const std::string& schema,
                     const std::vector<Migration>& service_migrations);

}  // namespace eventstore
