// A pooled connection lost in the middle of a statement, as a killed
// primary leaves it: UNAVAILABLE, and the next caller gets a fresh one.
#include <sys/socket.h>

#include "common/eventstore/connection_pool.h"
#include "gtest/gtest.h"
#include "pqxx/pqxx"
#include "tests/support/test_database.h"

namespace eventstore {
namespace {

using ::shop::testing::TestDsn;

// The socket closes under a statement with no word from the server (no
// SQLSTATE, as when the server dies before it can say so): UNAVAILABLE,
// never INTERNAL, and the broken connection is replaced.
TEST(ConnectionLossTest, AStatementWhoseConnectionClosesIsUnavailable) {
  ConnectionPool pool({.dsn = TestDsn(), .size = 1});
  ASSERT_TRUE(pool.Ping().ok());
  const absl::Status lost = pool.Run([](Connection& connection) {
    ::shutdown(connection.raw().sock(), SHUT_RDWR);
    pqxx::nontransaction tx(connection.raw());
    tx.exec("SELECT 1");
    return absl::OkStatus();
  });
  EXPECT_EQ(lost.code(), absl::StatusCode::kUnavailable) << lost;
  EXPECT_EQ(pool.stats().open, 0);
  EXPECT_TRUE(pool.Ping().ok());
  EXPECT_EQ(pool.stats().open, 1);
}

// The same loss inside a transaction's commit.
TEST(ConnectionLossTest, ACommitWhoseConnectionClosesIsUnavailable) {
  ConnectionPool pool({.dsn = TestDsn(), .size = 1});
  const absl::Status lost = pool.Run([](Connection& connection) {
    pqxx::work tx(connection.raw());
    tx.exec("SELECT 1");
    ::shutdown(connection.raw().sock(), SHUT_RDWR);
    tx.commit();
    return absl::OkStatus();
  });
  EXPECT_EQ(lost.code(), absl::StatusCode::kUnavailable) << lost;
  EXPECT_TRUE(pool.Ping().ok());
}

}  // namespace
}  // namespace eventstore
