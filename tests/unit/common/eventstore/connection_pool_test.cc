#include "common/eventstore/connection_pool.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

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

}  // namespace
}  // namespace eventstore
