// The database connection over TLS: a PostgreSQL of the test's own with
// ssl = on and a certificate of a test CA, reached with
// sslmode=verify-full as deploy/README.md tells operators to.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "pqxx/pqxx"
#include "tests/support/child_process.h"
#include "tests/support/server_process.h"
#include "tests/support/test_certificates.h"

namespace {

using ::shop::TlsFiles;
using ::shop::testing::ChildProcess;
using ::shop::testing::kStartTimeout;
using ::shop::testing::PortOf;
using ::shop::testing::TestCa;
using ::testing::HasSubstr;

constexpr char kPostgresBin[] = "/usr/lib/postgresql/15/bin/";

int FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address));
  getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  close(fd);
  return ntohs(address.sin_port);
}

// A PostgreSQL 15 cluster with ssl = on serving `server`'s certificate,
// started for one test (as the postgres user when the test runs as root:
// initdb refuses root) and removed at its end.
class TlsPostgres final {
 public:
  explicit TlsPostgres(const TlsFiles& server) {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "shop-pgtls-XXXXXX").string();
    dir_ = mkdtemp(pattern.data()) == nullptr ? "" : pattern;
    EXPECT_FALSE(dir_.empty());
    // The server reads its key only if no one else can.
    std::filesystem::copy_file(server.cert_file, dir_ + "/server.crt");
    std::filesystem::copy_file(server.key_file, dir_ + "/server.key");
    std::filesystem::permissions(dir_ + "/server.key",
                                 std::filesystem::perms::owner_read);
    if (geteuid() == 0) {
      const passwd* postgres = getpwnam("postgres");
      EXPECT_NE(postgres, nullptr) << "no postgres user";
      if (postgres != nullptr) {
        for (const char* path : {"", "/server.crt", "/server.key"}) {
          EXPECT_EQ(
              chown((dir_ + path).c_str(), postgres->pw_uid, postgres->pw_gid),
              0);
        }
      }
    }
    port_ = FreePort();
    Run("initdb", {"-D", dir_ + "/data", "-U", "postgres", "--auth=trust", "-E",
                   "UTF8", "--no-instructions"});
    Run("pg_ctl", {"-D", dir_ + "/data", "-l", dir_ + "/server.log", "-w", "-o",
                   absl::StrCat("-p ", port_,
                                " -c listen_addresses=127.0.0.1"
                                " -c unix_socket_directories= -c ssl=on"
                                " -c ssl_cert_file=",
                                dir_, "/server.crt -c ssl_key_file=", dir_,
                                "/server.key"),
                   "start"});
  }

  ~TlsPostgres() {
    Run("pg_ctl", {"-D", dir_ + "/data", "-m", "immediate", "stop"});
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  // A libpq connection string to database postgres as `user`, over TLS
  // verified against `root_cert` with the host's name checked.
  std::string Dsn(const std::string& user, const std::string& root_cert) const {
    return absl::StrCat("host=127.0.0.1 port=", port_,
                        " dbname=postgres user=", user,
                        " sslmode=verify-full sslrootcert=", root_cert,
                        " application_name=tls-test-", user);
  }

 private:
  void Run(const std::string& tool, std::vector<std::string> args) {
    std::string program = kPostgresBin + tool;
    if (geteuid() == 0) {
      args.insert(args.begin(), {"-u", "postgres", "--", program});
      program = "/usr/sbin/runuser";
    }
    ChildProcess child(program, args);
    EXPECT_EQ(child.WaitForExit(absl::Seconds(60)), 0)
        << tool << ": " << absl::StrJoin(child.Lines(), "\n");
  }

  std::string dir_;
  int port_ = 0;
};

// migrate and the server reach a PostgreSQL with ssl = on through
// sslmode=verify-full, and every connection they hold is encrypted; a
// server certificate of another CA is refused and the server never serves.
TEST(DatabaseTlsTest, ServersConnectOnlyOverVerifiedTls) {
  TestCa ca("db-ca");
  TlsPostgres postgres(ca.Issue("postgres"));
  {
    pqxx::connection admin(postgres.Dsn("postgres", ca.ca_file()));
    pqxx::nontransaction tx(admin);
    tx.exec(
        "CREATE ROLE owner LOGIN; CREATE ROLE app LOGIN; "
        "CREATE SCHEMA inventory AUTHORIZATION owner");
  }
  ChildProcess migrate(
      INVENTORY_SERVER,
      {"migrate",
       "--migrate_database_url=" + postgres.Dsn("owner", ca.ca_file()),
       "--serving_role=app"});
  ASSERT_EQ(migrate.WaitForExit(kStartTimeout), 0)
      << absl::StrJoin(migrate.Lines(), "\n");
  ChildProcess server(INVENTORY_SERVER,
                      {"--listen=127.0.0.1:0", "--metrics_listen=127.0.0.1:0",
                       "--database_url=" + postgres.Dsn("app", ca.ca_file())});
  ASSERT_GT(PortOf(server), 0);
  {
    pqxx::connection admin(postgres.Dsn("postgres", ca.ca_file()));
    pqxx::nontransaction tx(admin);
    pqxx::result connections = tx.exec(
        "SELECT ssl FROM pg_stat_ssl JOIN pg_stat_activity USING (pid) "
        "WHERE application_name = 'tls-test-app'");
    ASSERT_FALSE(connections.empty());
    for (const auto& row : connections) EXPECT_TRUE(row[0].as<bool>());
  }

  TestCa other("other-db-ca");
  ChildProcess refused(
      INVENTORY_SERVER,
      {"migrate",
       "--migrate_database_url=" + postgres.Dsn("owner", other.ca_file()),
       "--serving_role=app", "--startup_timeout_seconds=1"});
  EXPECT_EQ(refused.WaitForExit(kStartTimeout), 1);
  EXPECT_THAT(absl::StrJoin(refused.Lines(), "\n"),
              HasSubstr("certificate verify failed"));
}

}  // namespace
