// Connection bounds added to a DSN, and libpqxx errors as Status.
#include "common/eventstore/connection_pool.h"

#include "common/metrics/metrics.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/metric_value.h"

namespace eventstore {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// Every connection gets bounds on connecting and on a silent server, in
// either form of connection string.
TEST(ConnectionBoundsTest, AddedToKeywordsAndUris) {
  const PoolOptions options;
  const std::string keywords =
      WithConnectionBounds("host=db port=5432 dbname=shop", options);
  EXPECT_THAT(keywords, HasSubstr(" connect_timeout=3"));
  EXPECT_THAT(keywords, HasSubstr(" tcp_user_timeout=10000"));
  EXPECT_THAT(keywords, HasSubstr(" keepalives_idle=30"));

  EXPECT_EQ(WithConnectionBounds("postgresql://db/shop", options),
            "postgresql://db/shop?connect_timeout=3&tcp_user_timeout=10000"
            "&keepalives_idle=30&keepalives_interval=10&keepalives_count=3");
  EXPECT_THAT(
      WithConnectionBounds("postgres://db/shop?sslmode=require", options),
      HasSubstr("?sslmode=require&connect_timeout=3&"));
}

// A bound the connection string sets itself is kept.
TEST(ConnectionBoundsTest, TheCallersOwnValueWins) {
  const std::string dsn = WithConnectionBounds(
      "host=db tcp_user_timeout=500 connect_timeout=9", PoolOptions{});
  EXPECT_THAT(dsn, Not(HasSubstr("tcp_user_timeout=10000")));
  EXPECT_THAT(dsn, Not(HasSubstr("connect_timeout=3")));
  EXPECT_THAT(dsn, HasSubstr("keepalives_count=3"));
}

// A value that merely contains an option's name sets nothing: libpq's own
// parser decides which options are set.
TEST(ConnectionBoundsTest, APasswordNamingAnOptionDoesNotHideIt) {
  const std::string dsn = WithConnectionBounds(
      "host=db password='tcp_user_timeout=1 connect_timeout'", PoolOptions{});
  EXPECT_THAT(dsn, HasSubstr(" connect_timeout=3"));
  EXPECT_THAT(dsn, HasSubstr(" tcp_user_timeout=10000"));

  EXPECT_THAT(WithConnectionBounds("postgresql://u:keepalives_count@db/shop",
                                   PoolOptions{}),
              HasSubstr("&keepalives_count=3"));
}

// Errors are told apart by libpqxx's SQLSTATE classes, never by their text
// (which follows the server's lc_messages).
TEST(StatusFromExceptionTest, ByClassAndSqlstate) {
  // libpqxx 6.4 throws these without sqlstate().
  EXPECT_EQ(
      StatusFromException(pqxx::insufficient_privilege("keine Rechte")).code(),
      absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(StatusFromException(pqxx::deadlock_detected("x")).code(),
            absl::StatusCode::kAborted);
  EXPECT_EQ(StatusFromException(pqxx::serialization_failure("x")).code(),
            absl::StatusCode::kAborted);
  EXPECT_EQ(StatusFromException(pqxx::broken_connection("x")).code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(StatusFromException(pqxx::sql_error("x", "q", "57P01")).code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(StatusFromException(pqxx::sql_error("x", "q", "57014")).code(),
            absl::StatusCode::kDeadlineExceeded);
  // A write sent to a server that is read-only now, as a failover makes it
  // for a moment: retry, on another connection (the drill saw INTERNAL).
  EXPECT_EQ(StatusFromException(pqxx::sql_error("x", "q", "25006")).code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(StatusFromException(pqxx::sql_error("x", "q", "25P02")).code(),
            absl::StatusCode::kInternal);
  EXPECT_EQ(StatusFromException(pqxx::data_exception("x", "q", "22P02")).code(),
            absl::StatusCode::kInvalidArgument);
  // The English words alone mean nothing.
  EXPECT_EQ(StatusFromException(pqxx::sql_error("permission denied")).code(),
            absl::StatusCode::kInternal);
}

// Every failure is counted by its kind, for the operator's dashboard.
TEST(StatusFromExceptionTest, CountsEveryFailureByKind) {
  auto count = [](const std::string& kind) {
    return shop::testing::MetricValue(
        shop::metrics::Default().Exposition(),
        "shop_db_errors_total{kind=\"" + kind + "\"}");
  };
  const double connection = count("connection");
  const double conflict = count("conflict");
  const double timeout = count("timeout");
  const double data = count("data");
  const double other = count("other");
  StatusFromException(pqxx::broken_connection("x")).IgnoreError();
  StatusFromException(pqxx::sql_error("x", "q", "08006")).IgnoreError();
  StatusFromException(pqxx::deadlock_detected("x")).IgnoreError();
  StatusFromException(pqxx::sql_error("x", "q", "57014")).IgnoreError();
  StatusFromException(pqxx::data_exception("x", "q", "22P02")).IgnoreError();
  StatusFromException(pqxx::sql_error("x", "q", "XX000")).IgnoreError();
  EXPECT_EQ(count("connection"), connection + 2);
  EXPECT_EQ(count("conflict"), conflict + 1);
  EXPECT_EQ(count("timeout"), timeout + 1);
  EXPECT_EQ(count("data"), data + 1);
  EXPECT_EQ(count("other"), other + 1);
}

}  // namespace
}  // namespace eventstore
