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
// With a `serving_role`, the same transaction then grants that role what
// serving needs and nothing that alters history (ServingGrants), after
// checking that it is a role of its own: not the owner, not a superuser.
absl::Status Migrate(ConnectionPool& pool, const std::string& schema,
                     const std::vector<Migration>& service_migrations,
                     const std::string& serving_role = "");

// What the serving role may do in a schema, granted again by every Migrate
// that names it, so that the tables of later migrations are covered: rows
// of every table (read models, checkpoints, snapshots), except that events
// are only read and appended, streams never deleted, schema_migrations only
// read. A new table whose rows must never change adds its REVOKE here.
// `{schema}` and `{serving_role}` are replaced as in migrations.
const std::string& ServingGrants();

// For a server about to serve as the pool's role: OK when `schema` has
// every migration of this release and that role can read and append but
// not alter it; FAILED_PRECONDITION saying what to run otherwise (the
// schema or a migration is missing, the role has no grants, or it owns the
// schema or is a superuser, so history would not be safe from it).
absl::Status CheckServingSchema(
    ConnectionPool& pool, const std::string& schema,
    const std::vector<Migration>& service_migrations);

}  // namespace eventstore
