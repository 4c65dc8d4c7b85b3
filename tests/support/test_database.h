#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/eventstore/connection_pool.h"
#include "common/eventstore/event_store.h"

namespace shop::testing {

// The test PostgreSQL's connection string from SHOP_TEST_DSN. Fails the
// test (never skips it) when the variable is missing: the README's test
// command always sets it.
std::string TestDsn();

// A fresh, uniquely named schema in the test database, dropped at the end.
class TestSchema final {
 public:
  explicit TestSchema(const std::string& prefix);
  ~TestSchema();
  TestSchema(const TestSchema&) = delete;
  TestSchema& operator=(const TestSchema&) = delete;

  const std::string& name() const { return name_; }

 private:
  std::string name_;
};

// The roles of a deployment for `schema`: an owner that holds the schema
// (and migrates it) and a serving role that gets only what `migrate` grants
// it. Created for one test, dropped with everything they own at its end;
// declare it after the TestSchema it serves.
class TestRoles final {
 public:
  explicit TestRoles(const TestSchema& schema);
  ~TestRoles();
  TestRoles(const TestRoles&) = delete;
  TestRoles& operator=(const TestRoles&) = delete;

  const std::string& owner() const { return owner_; }
  const std::string& serving() const { return serving_; }
  std::string OwnerDsn() const;
  std::string ServingDsn() const;
  // A server's `migrate` arguments: as the owner, granting the serving role.
  std::vector<std::string> MigrateArgs() const;

 private:
  std::string schema_;
  std::string owner_;
  std::string serving_;
};

// The position of the last event of `schema` that has committed. Unlike
// ReadAllEnd it is not held back by transactions still running anywhere
// (a projection's own, for one): once the writers are done, it is theirs.
eventstore::GlobalPosition LastCommittedPosition(const std::string& schema);

// Runs `sql` on a direct connection as the test database's superuser.
void ExecAsAdmin(const std::string& sql);

}  // namespace shop::testing
