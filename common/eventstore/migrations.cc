// Owns the event store's own migrations and the migration runner.
#include "common/eventstore/migrations.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "common/eventstore/event_store.h"

namespace eventstore {

const std::vector<Migration>& EventStoreMigrations() {
  static const auto* const kMigrations = new std::vector<Migration>{
      {"0001_event_store", R"sql(
CREATE TABLE {schema}.streams (
  stream_id text PRIMARY KEY,
  version bigint NOT NULL CHECK (version > 0),
  snapshot jsonb,
  snapshot_version bigint NOT NULL DEFAULT 0,
  due_at timestamptz
);
CREATE INDEX streams_due_at ON {schema}.streams (due_at)
  WHERE due_at IS NOT NULL;

CREATE TABLE {schema}.events (
  position bigint GENERATED ALWAYS AS IDENTITY,
  transaction_id xid8 NOT NULL DEFAULT pg_current_xact_id(),
  stream_id text NOT NULL,
  version bigint NOT NULL CHECK (version > 0),
  event_id uuid NOT NULL UNIQUE,
  type text NOT NULL,
  data jsonb NOT NULL,
  metadata jsonb NOT NULL DEFAULT '{}',
  recorded_at timestamptz NOT NULL DEFAULT now(),
  -- The commit-safe reading order of ReadAll; every index costs each append.
  PRIMARY KEY (transaction_id, position),
  UNIQUE (stream_id, version)
);

-- History is append-only: nothing rewrites or removes an event.
CREATE FUNCTION {schema}.events_are_immutable() RETURNS trigger
  LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'events are immutable: % refused', TG_OP;
END $$;
CREATE TRIGGER events_no_update_or_delete
  BEFORE UPDATE OR DELETE ON {schema}.events
  FOR EACH ROW EXECUTE FUNCTION {schema}.events_are_immutable();
CREATE TRIGGER events_no_truncate
  BEFORE TRUNCATE ON {schema}.events
  FOR EACH STATEMENT EXECUTE FUNCTION {schema}.events_are_immutable();
)sql"},
      {"0002_streams_fillfactor", R"sql(
-- Every append rewrites its stream's row: free room on each page keeps the
-- update on the same page (HOT), pruned in place instead of bloating the
-- table until the next vacuum.
ALTER TABLE {schema}.streams SET (fillfactor = 50);
)sql"},
      {"0003_cheaper_keys_and_snapshots", R"sql(
-- Stream ids are compared byte by byte: their order means nothing, and the
-- database's locale made every index search and insert pay for strcoll.
ALTER TABLE {schema}.streams ALTER COLUMN stream_id TYPE text COLLATE "C";
ALTER TABLE {schema}.events ALTER COLUMN stream_id TYPE text COLLATE "C";
-- Snapshots are rewritten often and read rarely: lz4 compresses them
-- several times faster than the default pglz.
ALTER TABLE {schema}.streams ALTER COLUMN snapshot SET COMPRESSION lz4;
)sql"},
      {"0004_refusing_constraint", R"sql(
-- Which unique constraint refuses an append (`statement`, the append's own
-- SQL), read from the error's fields, not its message (which follows
-- lc_messages). Run only after a refusal: the subtransaction of the
-- EXCEPTION block is undone in every case, so nothing is written.
CREATE FUNCTION {schema}.refusing_constraint(
  statement text, stream text, n bigint, snapshot jsonb, due_at timestamptz,
  ids uuid[], types text[], data jsonb[], metadata jsonb[],
  keep_due_at boolean, expected bigint) RETURNS text
  LANGUAGE plpgsql AS $$
DECLARE
  refused text;
BEGIN
  EXECUTE statement USING stream, n, snapshot, due_at, ids, types, data,
    metadata, keep_due_at, expected;
  -- Nothing refuses it now: undo it all the same.
  RAISE SQLSTATE 'SH001';
EXCEPTION
  WHEN unique_violation THEN
    GET STACKED DIAGNOSTICS refused = CONSTRAINT_NAME;
    RETURN refused;
  WHEN SQLSTATE 'SH001' THEN
    RETURN NULL;
END $$;
)sql"},
      {"0005_forensic_reads", R"sql(
-- One correlation id's events in commit order (ReadByCorrelation) without
-- scanning the schema; events without one stay out of the index.
CREATE INDEX events_correlation ON {schema}.events
  ((metadata->>'correlationId'), transaction_id, position)
  WHERE (metadata->>'correlationId') IS NOT NULL;
-- A stream's time range as a version range (ReadStreamFiltered).
CREATE INDEX events_stream_recorded_at ON {schema}.events
  (stream_id, recorded_at);
)sql"},
      {"0006_projections", R"sql(
-- Each read model's checkpoint: the last event it applied, moved in the
-- same transaction as its rows; `error` is set when an event stalled it.
CREATE TABLE {schema}.projections (
  name text COLLATE "C" PRIMARY KEY,
  transaction_id xid8 NOT NULL DEFAULT '0',
  position bigint NOT NULL DEFAULT 0,
  updated_at timestamptz NOT NULL DEFAULT now(),
  error text
);
)sql"},
  };
  return *kMigrations;
}

const std::string& ServingGrants() {
  static const auto* const kGrants = new std::string(R"sql(
GRANT USAGE ON SCHEMA {schema} TO {serving_role};
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {schema}
  TO {serving_role};
-- History is read and appended, never changed (the trigger refuses it too).
REVOKE UPDATE, DELETE ON {schema}.events FROM {serving_role};
-- A stream's row holds its version: removing it would reuse versions.
REVOKE DELETE ON {schema}.streams FROM {serving_role};
REVOKE INSERT, UPDATE, DELETE ON {schema}.schema_migrations
  FROM {serving_role};
)sql");
  return *kGrants;
}

namespace {

std::vector<Migration> AllMigrations(
    const std::vector<Migration>& service_migrations) {
  std::vector<Migration> all = EventStoreMigrations();
  all.insert(all.end(), service_migrations.begin(), service_migrations.end());
  return all;
}

absl::Status InvalidSchemaName(const std::string& schema) {
  return absl::InvalidArgumentError(
      absl::StrCat("schema name '", schema,
                   "' must be a lower-case identifier of at most 63 bytes"));
}

// Refuses a serving role that could alter the schema it would serve.
absl::Status CheckServingRole(pqxx::work& tx, const std::string& schema,
                              const std::string& serving_role) {
  pqxx::result role = tx.exec_params(
      "SELECT r.rolsuper, pg_has_role(r.oid, n.nspowner, 'USAGE') "
      "FROM pg_roles r, pg_namespace n WHERE r.rolname = $1 AND "
      "n.nspname = $2",
      serving_role, schema);
  if (role.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "serving role ", serving_role,
        " does not exist: create it (LOGIN, CONNECT on the database) first"));
  }
  if (role[0][0].as<bool>() || role[0][1].as<bool>()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "serving role ", serving_role, " owns schema ", schema,
        " (or is a superuser) and could rewrite its history: give the "
        "server a role of its own"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status Migrate(ConnectionPool& pool, const std::string& schema,
                     const std::vector<Migration>& service_migrations,
                     const std::string& serving_role) {
  if (!IsValidSchemaName(schema)) return InvalidSchemaName(schema);
  if (!serving_role.empty() && !IsValidSchemaName(serving_role)) {
    return absl::InvalidArgumentError(
        absl::StrCat("serving role '", serving_role,
                     "' must be a lower-case identifier of at most 63 bytes"));
  }
  const std::vector<Migration> all = AllMigrations(service_migrations);
  return pool.Run([&](Connection& connection) {
    pqxx::work tx(connection.raw());
    // Held until commit: a second process waits, then finds nothing to do.
    tx.exec_params("SELECT pg_advisory_xact_lock(hashtext($1))",
                   "shop-migrations:" + schema);
    // Checked first: CREATE SCHEMA IF NOT EXISTS still demands the right to
    // create schemas, which a service role given its schema need not have.
    if (tx.exec_params("SELECT 1 FROM pg_namespace WHERE nspname = $1", schema)
            .empty()) {
      tx.exec(absl::StrCat("CREATE SCHEMA ", schema));
    }
    tx.exec(absl::StrCat("CREATE TABLE IF NOT EXISTS ", schema,
                         ".schema_migrations (id text PRIMARY KEY, "
                         "applied_at timestamptz NOT NULL DEFAULT now())"));
    for (const Migration& migration : all) {
      pqxx::result done =
          tx.exec_params(absl::StrCat("SELECT 1 FROM ", schema,
                                      ".schema_migrations WHERE id = $1"),
                         migration.id);
      if (!done.empty()) continue;
      tx.exec(absl::StrReplaceAll(migration.sql, {{"{schema}", schema}}));
      tx.exec_params(absl::StrCat("INSERT INTO ", schema,
                                  ".schema_migrations (id) VALUES ($1)"),
                     migration.id);
    }
    if (!serving_role.empty()) {
      if (absl::Status role = CheckServingRole(tx, schema, serving_role);
          !role.ok()) {
        return role;
      }
      tx.exec(absl::StrReplaceAll(
          ServingGrants(),
          {{"{schema}", schema}, {"{serving_role}", serving_role}}));
    }
    tx.commit();
    return absl::OkStatus();
  });
}

absl::Status CheckServingSchema(
    ConnectionPool& pool, const std::string& schema,
    const std::vector<Migration>& service_migrations) {
  if (!IsValidSchemaName(schema)) return InvalidSchemaName(schema);
  const std::string migrate_first =
      "run the server's `migrate` command as the schema's owner first";
  std::vector<std::string> missing;
  std::string role;
  absl::Status status = pool.Run([&](Connection& connection) {
    pqxx::read_transaction tx(connection.raw());
    pqxx::result found = tx.exec_params(
        "SELECT current_user, pg_has_role(n.nspowner, 'USAGE') OR EXISTS "
        "(SELECT 1 FROM pg_class c WHERE c.relnamespace = n.oid AND "
        "pg_has_role(c.relowner, 'USAGE')), "
        "has_schema_privilege(n.oid, 'USAGE') FROM pg_namespace n WHERE "
        "n.nspname = $1",
        schema);
    if (found.empty()) {
      return absl::FailedPreconditionError(
          absl::StrCat("schema ", schema, " does not exist: ", migrate_first));
    }
    role = found[0][0].as<std::string>();
    if (found[0][1].as<bool>()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "role ", role, " owns schema ", schema,
          " or a table in it (or is a superuser) and could rewrite its "
          "history: serve as the role that `migrate --serving_role` names"));
    }
    // Looked up only with USAGE: to_regclass raises without it.
    if (!found[0][2].as<bool>() ||
        !tx.exec_params1("SELECT has_table_privilege(to_regclass($1), "
                         "'SELECT') IS TRUE",
                         schema + ".schema_migrations")[0]
             .as<bool>()) {
      return absl::FailedPreconditionError(
          absl::StrCat("role ", role, " has no grants in schema ", schema, ": ",
                       migrate_first, ", with --serving_role=", role));
    }
    pqxx::result applied =
        tx.exec(absl::StrCat("SELECT id FROM ", schema, ".schema_migrations"));
    std::vector<std::string> ids;
    for (const pqxx::row& row : applied) ids.push_back(row[0].c_str());
    for (const Migration& migration : AllMigrations(service_migrations)) {
      if (std::find(ids.begin(), ids.end(), migration.id) == ids.end()) {
        missing.push_back(migration.id);
      }
    }
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  if (!missing.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("schema ", schema, " lacks migrations ",
                     absl::StrJoin(missing, ", "), ": ", migrate_first));
  }
  return absl::OkStatus();
}

}  // namespace eventstore
