// The serving role of a migrated schema (inventory's and cart's whole
// migrations, as the servers run them) can read and append history but no
// statement it can send alters it; the owner migrates, the server refuses
// to serve as the owner.
#include <ostream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "common/eventstore/event_store.h"
#include "common/eventstore/migrations.h"
#include "common/eventstore/uuid.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "pqxx/pqxx"
#include "services/cart/store/order_store.h"
#include "services/inventory/store/product_store.h"
#include "tests/support/status_matchers.h"
#include "tests/support/test_database.h"

namespace eventstore {
namespace {

using ::shop::testing::StatusIs;
using ::shop::testing::TestDsn;
using ::shop::testing::TestRoles;
using ::shop::testing::TestSchema;
using ::testing::HasSubstr;

struct Service {
  std::string name;
  std::vector<Migration> (*migrations)();
};

void PrintTo(const Service& service, std::ostream* os) { *os << service.name; }

std::string PrintService(const ::testing::TestParamInfo<Service>& info) {
  return info.param.name;
}

class ServingRoleTest : public ::testing::TestWithParam<Service> {
 protected:
  void SetUp() override {
    ConnectionPool owner({.dsn = roles_.OwnerDsn(), .size = 1});
    ASSERT_TRUE(Migrate(owner, schema_.name(), GetParam().migrations(),
                        roles_.serving())
                    .ok());
    // History to protect, appended as the server appends it.
    ConnectionPool serving({.dsn = roles_.ServingDsn(), .size = 2});
    EventStore store(&serving, schema_.name());
    const SnapshotWrite snapshot{.json = R"({"n":1})", .due_at = {}};
    ASSERT_TRUE(store
                    .Append("s-1", ExpectedVersion::NoStream(),
                            {EventData{NewUuid(), "thing.happened",
                                       R"({"n":1})", "{}"}},
                            &snapshot)
                    .ok());
  }

  // `sql` with {schema} replaced, run as the serving role: the error it
  // gets, or "" when it went through.
  std::string RunAsServing(const std::string& sql) {
    pqxx::connection connection(roles_.ServingDsn());
    try {
      pqxx::work tx(connection);
      tx.exec(absl::StrReplaceAll(sql, {{"{schema}", schema_.name()}}));
      tx.commit();
      return "";
    } catch (const pqxx::insufficient_privilege& e) {
      return "refused";
    } catch (const pqxx::sql_error& e) {
      return e.sqlstate() == "42501" ? "refused" : e.what();
    }
  }

  std::vector<std::string> Tables() {
    pqxx::connection connection(TestDsn());
    pqxx::nontransaction tx(connection);
    std::vector<std::string> tables;
    for (const pqxx::row& row :
         tx.exec_params("SELECT tablename FROM pg_tables WHERE schemaname = $1 "
                        "ORDER BY 1",
                        schema_.name())) {
      tables.push_back(row[0].c_str());
    }
    return tables;
  }

  TestSchema schema_{"roles_test"};
  TestRoles roles_{schema_};
};

// Every statement that would rewrite, remove or unprotect history is
// refused for lack of privilege, on the event store's tables and on every
// table the service's migrations made; history is as it was afterwards.
TEST_P(ServingRoleTest, NoStatementOfTheServingRoleAltersHistory) {
  const std::vector<std::string> statements = {
      "ALTER TABLE {schema}.events DISABLE TRIGGER USER",
      "ALTER TABLE {schema}.events DISABLE TRIGGER events_no_update_or_delete",
      "DROP TRIGGER events_no_update_or_delete ON {schema}.events",
      "DROP TRIGGER events_no_truncate ON {schema}.events",
      "DROP FUNCTION {schema}.events_are_immutable() CASCADE",
      "CREATE OR REPLACE FUNCTION {schema}.events_are_immutable() RETURNS "
      "trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$",
      "DROP TABLE {schema}.events CASCADE",
      "TRUNCATE {schema}.events",
      "UPDATE {schema}.events SET type = 'rewritten'",
      "DELETE FROM {schema}.events",
      "ALTER TABLE {schema}.events RENAME TO old_events",
      "ALTER TABLE {schema}.events ALTER COLUMN data DROP NOT NULL",
      "SELECT setval(pg_get_serial_sequence('{schema}.events', 'position'), 1)",
      "DELETE FROM {schema}.streams",
      "ALTER TABLE {schema}.streams ADD COLUMN x int",
      "ALTER TABLE {schema}.streams DROP COLUMN snapshot",
      "ALTER TABLE {schema}.projections ADD COLUMN x int",
      "INSERT INTO {schema}.schema_migrations (id) VALUES ('9999_forged')",
      "DELETE FROM {schema}.schema_migrations",
      "CREATE TABLE {schema}.events_copy (n int)",
      "CREATE FUNCTION {schema}.f() RETURNS int LANGUAGE sql AS 'SELECT 1'",
      "CREATE VIEW {schema}.v AS SELECT 1 AS n",
      "ALTER SCHEMA {schema} RENAME TO taken",
      "DROP SCHEMA {schema} CASCADE",
  };
  for (const std::string& sql : statements) {
    EXPECT_EQ(RunAsServing(sql), "refused") << sql;
  }
  const std::vector<std::string> tables = Tables();
  ASSERT_GE(tables.size(), 4u);
  for (const std::string& table : tables) {
    const std::string t = absl::StrCat("{schema}.", table);
    for (const std::string& sql :
         {absl::StrCat("DROP TABLE ", t, " CASCADE"),
          absl::StrCat("TRUNCATE ", t),
          absl::StrCat("ALTER TABLE ", t, " DISABLE TRIGGER ALL"),
          absl::StrCat("ALTER TABLE ", t, " OWNER TO CURRENT_USER"),
          absl::StrCat("CREATE TRIGGER t BEFORE INSERT ON ", t,
                       " FOR EACH ROW EXECUTE FUNCTION "
                       "{schema}.events_are_immutable()")}) {
      EXPECT_EQ(RunAsServing(sql), "refused") << sql;
    }
  }

  pqxx::connection connection(TestDsn());
  pqxx::nontransaction tx(connection);
  EXPECT_EQ(tx.exec1(absl::StrCat("SELECT count(*) FROM ", schema_.name(),
                                  ".events WHERE stream_id = 's-1' AND "
                                  "type = 'thing.happened'"))[0]
                .as<int>(),
            1);
  // Nothing in the schema is the serving role's, and it may create nothing.
  EXPECT_EQ(
      tx.exec_params1("SELECT count(*) FROM pg_class c JOIN pg_namespace n ON "
                      "n.oid = c.relnamespace WHERE n.nspname = $1 AND "
                      "pg_has_role($2, c.relowner, 'USAGE')",
                      schema_.name(), roles_.serving())[0]
          .as<int>(),
      0);
  EXPECT_FALSE(tx.exec_params1("SELECT has_schema_privilege($1, $2, 'CREATE')",
                               roles_.serving(), schema_.name())[0]
                   .as<bool>());
}

// What serving does to rows beside appending: snapshots and due times on
// streams, checkpoints, read models, advisory locks and notifications.
TEST_P(ServingRoleTest, TheServingRoleKeepsItsRowsCurrent) {
  EXPECT_EQ(RunAsServing("UPDATE {schema}.streams SET snapshot = '{}', "
                         "due_at = now() WHERE stream_id = 's-1'"),
            "");
  EXPECT_EQ(RunAsServing("INSERT INTO {schema}.projections (name) VALUES "
                         "('p'); UPDATE {schema}.projections SET error = "
                         "'x' WHERE name = 'p'"),
            "");
  EXPECT_EQ(RunAsServing("SELECT pg_advisory_xact_lock(1); SELECT "
                         "pg_notify('{schema}', 'x')"),
            "");
  for (const std::string& table : Tables()) {
    if (table == "events" || table == "streams" ||
        table == "schema_migrations") {
      continue;
    }
    EXPECT_EQ(RunAsServing(absl::StrCat("SELECT 1 FROM {schema}.", table,
                                        "; DELETE FROM {schema}.", table)),
              "")
        << table;
  }
  ConnectionPool serving({.dsn = roles_.ServingDsn(), .size = 1});
  EXPECT_TRUE(
      CheckServingSchema(serving, schema_.name(), GetParam().migrations())
          .ok());
}

// A table a later migration adds is covered by that migrate run's grants:
// nobody has to remember a GRANT in it.
TEST_P(ServingRoleTest, LaterMigrationsTablesAreGranted) {
  std::vector<Migration> later = GetParam().migrations();
  later.push_back({"9000_later", "CREATE TABLE {schema}.later (n int);"});
  ConnectionPool serving({.dsn = roles_.ServingDsn(), .size = 1});
  EXPECT_THAT(CheckServingSchema(serving, schema_.name(), later),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(CheckServingSchema(serving, schema_.name(), later).message(),
              HasSubstr("lacks migrations 9000_later"));

  ConnectionPool owner({.dsn = roles_.OwnerDsn(), .size = 1});
  ASSERT_TRUE(Migrate(owner, schema_.name(), later, roles_.serving()).ok());
  EXPECT_EQ(RunAsServing("INSERT INTO {schema}.later VALUES (1)"), "");
  EXPECT_EQ(RunAsServing("DROP TABLE {schema}.later"), "refused");
  EXPECT_TRUE(CheckServingSchema(serving, schema_.name(), later).ok());
}

// The owner is no serving role: migrate refuses to grant it, and a server
// connected as the owner (or a superuser) refuses to serve.
TEST_P(ServingRoleTest, TheOwnerIsRefusedAsServingRole) {
  ConnectionPool owner({.dsn = roles_.OwnerDsn(), .size = 1});
  EXPECT_THAT(
      Migrate(owner, schema_.name(), GetParam().migrations(), roles_.owner()),
      StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(
      Migrate(owner, schema_.name(), GetParam().migrations(), "no_such_role"),
      StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(
      CheckServingSchema(owner, schema_.name(), GetParam().migrations()),
      StatusIs(absl::StatusCode::kFailedPrecondition));
  ConnectionPool admin({.dsn = TestDsn(), .size = 1});
  EXPECT_THAT(CheckServingSchema(admin, schema_.name(), GetParam().migrations())
                  .message(),
              HasSubstr("could rewrite its history"));
  // The refusals changed nothing: the serving role still serves.
  ConnectionPool serving({.dsn = roles_.ServingDsn(), .size = 1});
  EXPECT_TRUE(
      CheckServingSchema(serving, schema_.name(), GetParam().migrations())
          .ok());
}

INSTANTIATE_TEST_SUITE_P(
    Services, ServingRoleTest,
    ::testing::Values(Service{"inventory",
                              &inventory::ProductStore::Migrations},
                      Service{"cart", &cart::EventOrderStore::Migrations}),
    PrintService);

}  // namespace
}  // namespace eventstore
