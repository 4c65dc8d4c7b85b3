#include "tests/support/test_database.h"

#include <cstdlib>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/eventstore/uuid.h"
#include "gtest/gtest.h"
#include "pqxx/pqxx"

namespace shop::testing {

std::string TestDsn() {
  const char* dsn = std::getenv("SHOP_TEST_DSN");
  if (dsn == nullptr || *dsn == '\0') {
    ADD_FAILURE() << "SHOP_TEST_DSN is not set: run the suite with "
                     "deploy/local/test.sh, which starts PostgreSQL";
    return "host=127.0.0.1 port=1 dbname=missing connect_timeout=1";
  }
  return dsn;
}

TestSchema::TestSchema(const std::string& prefix) {
  // A UUID's last digits are random; its first ones are the clock.
  std::string suffix = eventstore::NewUuid().substr(28);
  name_ = absl::AsciiStrToLower(prefix + "_" + suffix);
}

TestSchema::~TestSchema() {
  try {
    ExecAsAdmin("DROP SCHEMA IF EXISTS " + name_ + " CASCADE");
  } catch (const std::exception& e) {
    ADD_FAILURE() << "dropping schema " << name_ << ": " << e.what();
  }
}

TestRoles::TestRoles(const TestSchema& schema)
    : schema_(schema.name()),
      owner_(schema.name() + "_owner"),
      serving_(schema.name() + "_app") {
  // The rebuild's scratch schema too, as deploy/README has the DBA make.
  ExecAsAdmin(absl::StrCat("CREATE ROLE ", owner_, " LOGIN; CREATE ROLE ",
                           serving_, " LOGIN; CREATE SCHEMA ", schema_,
                           " AUTHORIZATION ", owner_, "; CREATE SCHEMA ",
                           schema_, "_rebuild AUTHORIZATION ", owner_));
}

TestRoles::~TestRoles() {
  try {
    // Their objects, grants and default privileges go first.
    ExecAsAdmin(absl::StrCat("DROP OWNED BY ", owner_, ", ", serving_,
                             " CASCADE; DROP ROLE ", owner_, ", ", serving_));
  } catch (const std::exception& e) {
    ADD_FAILURE() << "dropping roles of " << schema_ << ": " << e.what();
  }
}

// A later `user` in a connection string wins over the test DSN's own.
std::string TestRoles::OwnerDsn() const {
  return absl::StrCat(TestDsn(), " user=", owner_);
}

std::string TestRoles::ServingDsn() const {
  return absl::StrCat(TestDsn(), " user=", serving_);
}

std::vector<std::string> TestRoles::MigrateArgs() const {
  return {"migrate", "--schema=" + schema_,
          "--migrate_database_url=" + OwnerDsn(), "--serving_role=" + serving_};
}

void ExecAsAdmin(const std::string& sql) {
  pqxx::connection connection(TestDsn());
  pqxx::nontransaction tx(connection);
  tx.exec(sql);
}

eventstore::GlobalPosition LastCommittedPosition(const std::string& schema) {
  pqxx::connection connection(TestDsn());
  pqxx::nontransaction tx(connection);
  const pqxx::result rows = tx.exec(absl::StrCat(
      "SELECT transaction_id::text AS xid, position FROM ", schema,
      ".events ORDER BY transaction_id DESC, position DESC LIMIT 1"));
  if (rows.empty()) return {};
  return {rows[0][0].as<uint64_t>(), rows[0][1].as<int64_t>()};
}

}  // namespace shop::testing
