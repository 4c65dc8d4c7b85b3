#include "tests/support/server_process.h"

#include <optional>

#include "absl/strings/numbers.h"
#include "absl/strings/str_join.h"
#include "gtest/gtest.h"

namespace shop::testing {

int PortOf(ChildProcess& server, const std::string& what) {
  std::optional<std::string> line = server.WaitForLine(what, kStartTimeout);
  EXPECT_TRUE(line.has_value()) << absl::StrJoin(server.Lines(), "\n");
  if (!line.has_value()) return 0;
  int port = 0;
  const size_t at = line->find("port ") + 5;
  EXPECT_TRUE(
      absl::SimpleAtoi(line->substr(at, line->find('"', at) - at), &port))
      << *line;
  return port;
}

void MigrateAsOwner(const char* server, const TestRoles& roles) {
  ChildProcess migrate(server, roles.MigrateArgs());
  ASSERT_EQ(migrate.WaitForExit(kStartTimeout), 0)
      << absl::StrJoin(migrate.Lines(), "\n");
}

}  // namespace shop::testing
