#include "tests/support/http_get.h"

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "absl/time/clock.h"
#include "gtest/gtest.h"

namespace shop::testing {

namespace {

int ConnectLoopback(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(
      ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  return fd;
}

}  // namespace

std::string HttpExchange(int port, const std::string& request) {
  const int fd = ConnectLoopback(port);
  EXPECT_EQ(::send(fd, request.data(), request.size(), 0),
            static_cast<ssize_t>(request.size()));
  std::string response;
  char buffer[4096];
  for (ssize_t n; (n = ::recv(fd, buffer, sizeof(buffer), 0)) > 0;) {
    response.append(buffer, n);
  }
  ::close(fd);
  return response;
}

std::string HttpGet(int port, const std::string& path) {
  return HttpExchange(port, "GET " + path + " HTTP/1.1\r\nHost: test\r\n\r\n");
}

HttpStreamReader::HttpStreamReader(int port, const std::string& request)
    : fd_(ConnectLoopback(port)) {
  EXPECT_EQ(::send(fd_, request.data(), request.size(), 0),
            static_cast<ssize_t>(request.size()));
}

HttpStreamReader::~HttpStreamReader() { ::close(fd_); }

size_t HttpStreamReader::WaitFor(const std::string& needle,
                                 absl::Duration timeout, size_t from) {
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    if (size_t at = received_.find(needle, from); at != std::string::npos) {
      return at + needle.size();
    }
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) return std::string::npos;
    pollfd waiting{fd_, POLLIN, 0};
    if (::poll(&waiting, 1,
               static_cast<int>(absl::ToInt64Milliseconds(left)) + 1) <= 0) {
      continue;
    }
    char buffer[4096];
    const ssize_t n = ::recv(fd_, buffer, sizeof(buffer), 0);
    if (n <= 0) return std::string::npos;
    received_.append(buffer, static_cast<size_t>(n));
  }
}

}  // namespace shop::testing
