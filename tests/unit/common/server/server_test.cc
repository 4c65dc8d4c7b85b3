#include "common/server/server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/http_get.h"

namespace shop {
namespace {

// An address the server cannot listen on is an error to report, not a
// crash (a typo in the listen flag must say what is wrong).
TEST(ServerTest, AnAddressItCannotListenOnIsAnError) {
  // A plain socket holds the port, without the SO_REUSEPORT gRPC would share.
  const int holder = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(holder, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(
      bind(holder, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  ASSERT_EQ(listen(holder, 1), 0);
  socklen_t length = sizeof(address);
  getsockname(holder, reinterpret_cast<sockaddr*>(&address), &length);

  ServerOptions options;
  options.listen_address = absl::StrCat("127.0.0.1:", ntohs(address.sin_port));
  options.access_log = false;
  absl::StatusOr<std::unique_ptr<Server>> server =
      Server::Start(std::move(options), {});
  EXPECT_EQ(server.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(server.status().message().find("cannot listen"), std::string::npos)
      << server.status();
  close(holder);
}

// The admin port's probes say what the health names say: readiness 503
// while its check fails, liveness 200 until the drain, 503 from then on.
TEST(ServerTest, TheAdminPortsProbesFollowHealth) {
  ServerOptions options;
  options.access_log = false;
  options.metrics_listen = "127.0.0.1:0";
  options.readiness_check = [] { return absl::UnavailableError("no db"); };
  absl::StatusOr<std::unique_ptr<Server>> server =
      Server::Start(std::move(options), {});
  ASSERT_TRUE(server.ok()) << server.status();
  const int admin = (*server)->metrics_port();
  EXPECT_THAT(testing::HttpGet(admin, "/readyz"), ::testing::HasSubstr("503"));
  EXPECT_THAT(testing::HttpGet(admin, "/livez"),
              ::testing::HasSubstr("200 OK"));
  (*server)->Shutdown();
  EXPECT_THAT(testing::HttpGet(admin, "/livez"), ::testing::HasSubstr("503"));
}

// The console's paths go where console_listen says: beside the probes on
// the admin port, on a port of their own (which then the admin port does
// not answer), or nowhere.
TEST(ServerTest, TheConsoleIsServedWhereItIsTold) {
  auto start = [](const std::string& console_listen) {
    ServerOptions options;
    options.access_log = false;
    options.metrics_listen = "127.0.0.1:0";
    options.console_listen = console_listen;
    options.console_routes = {
        {"/", [](const metrics::HttpRequest&) {
           return metrics::HttpResponse{200, "text/html", "console"};
         }}};
    absl::StatusOr<std::unique_ptr<Server>> server =
        Server::Start(std::move(options), {});
    EXPECT_TRUE(server.ok()) << server.status();
    return *std::move(server);
  };
  using ::testing::HasSubstr;
  std::unique_ptr<Server> beside = start("admin");
  EXPECT_EQ(beside->console_port(), 0);
  EXPECT_THAT(testing::HttpGet(beside->metrics_port(), "/"),
              HasSubstr("\r\n\r\nconsole"));
  std::unique_ptr<Server> own = start("127.0.0.1:0");
  ASSERT_NE(own->console_port(), 0);
  EXPECT_THAT(testing::HttpGet(own->console_port(), "/"),
              HasSubstr("\r\n\r\nconsole"));
  EXPECT_THAT(testing::HttpGet(own->metrics_port(), "/"), HasSubstr(" 404 "));
  EXPECT_THAT(testing::HttpGet(own->metrics_port(), "/livez"),
              HasSubstr("200 OK"));
  std::unique_ptr<Server> none = start("off");
  EXPECT_EQ(none->console_port(), 0);
  EXPECT_THAT(testing::HttpGet(none->metrics_port(), "/"), HasSubstr(" 404 "));
}

}  // namespace
}  // namespace shop
