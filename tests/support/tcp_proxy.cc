#include "tests/support/tcp_proxy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "tests/support/test_database.h"

namespace shop::testing {

TcpProxy::TcpProxy(std::string target_host, int target_port)
    : target_host_(std::move(target_host)), target_port_(target_port) {
  listener_ = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  if (bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) !=
          0 ||
      listen(listener_, 64) != 0) {
    std::abort();
  }
  socklen_t length = sizeof(address);
  getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &length);
  port_ = ntohs(address.sin_port);
  acceptor_ = std::thread([this] { AcceptLoop(); });
}

TcpProxy::~TcpProxy() {
  stopping_ = true;
  Cut();
  acceptor_.join();
  close(listener_);
  std::vector<std::thread> pumps;
  {
    absl::MutexLock lock(&mu_);
    pumps.swap(pumps_);
  }
  for (std::thread& pump : pumps) pump.join();
  absl::MutexLock lock(&mu_);
  for (int socket : sockets_) close(socket);
}

void TcpProxy::AcceptLoop() {
  while (!stopping_) {
    pollfd ready{listener_, POLLIN, 0};
    if (poll(&ready, 1, 50) <= 0) continue;
    int client = accept(listener_, nullptr, nullptr);
    if (client < 0) continue;
    absl::MutexLock lock(&mu_);
    if (cut_) {
      close(client);  // the "database" is down: connection refused-ish
      continue;
    }
    int upstream = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in target{};
    target.sin_family = AF_INET;
    target.sin_port = htons(static_cast<uint16_t>(target_port_));
    inet_pton(AF_INET, target_host_.c_str(), &target.sin_addr);
    if (connect(upstream, reinterpret_cast<sockaddr*>(&target),
                sizeof(target)) != 0) {
      close(client);
      close(upstream);
      continue;
    }
    sockets_.push_back(client);
    sockets_.push_back(upstream);
    auto doomed = std::make_shared<std::atomic<bool>>(false);
    pumps_.emplace_back([this, client, upstream, doomed] {
      Pump(client, upstream, /*from_target=*/false, doomed);
    });
    pumps_.emplace_back([this, client, upstream, doomed] {
      Pump(upstream, client, /*from_target=*/true, doomed);
    });
  }
}

void TcpProxy::Pump(int from, int to, bool from_target, Doomed doomed) {
  char buffer[16384];
  while (true) {
    ssize_t n = read(from, buffer, sizeof(buffer));
    if (n <= 0) break;
    if (from_target && doomed->load()) {
      absl::MutexLock lock(&mu_);
      if (std::exchange(cut_after_drop_, false)) {
        cut_ = true;
        for (int socket : sockets_) shutdown(socket, SHUT_RDWR);
      }
      break;
    }
    if (!from_target) {
      absl::MutexLock lock(&mu_);
      if (!drop_marker_.empty() &&
          absl::string_view(buffer, static_cast<size_t>(n))
                  .find(drop_marker_) != absl::string_view::npos) {
        drop_marker_.clear();
        *doomed = true;
      }
    }
    // A peer that is gone must not kill the test with SIGPIPE.
    if (send(to, buffer, static_cast<size_t>(n), MSG_NOSIGNAL) != n) break;
  }
  shutdown(to, SHUT_RDWR);
  shutdown(from, SHUT_RDWR);
}

void TcpProxy::Cut() {
  absl::MutexLock lock(&mu_);
  cut_ = true;
  for (int socket : sockets_) shutdown(socket, SHUT_RDWR);
}

void TcpProxy::Restore() {
  absl::MutexLock lock(&mu_);
  cut_ = false;
}

void TcpProxy::DropReplyTo(std::string marker, bool then_cut) {
  absl::MutexLock lock(&mu_);
  drop_marker_ = std::move(marker);
  cut_after_drop_ = then_cut;
}

ProxiedDatabase::ProxiedDatabase() {
  const std::string dsn = TestDsn();
  const size_t at = dsn.find("port=");
  if (at == std::string::npos) {
    std::fprintf(stderr, "SHOP_TEST_DSN needs port=\n");
    std::abort();
  }
  const size_t end = dsn.find(' ', at);
  proxy_ = std::make_unique<TcpProxy>(
      "127.0.0.1", std::stoi(dsn.substr(at + 5, end - at - 5)));
  dsn_ = absl::StrCat(dsn.substr(0, at), "port=", proxy_->port(),
                      end == std::string::npos ? "" : dsn.substr(end));
}

}  // namespace shop::testing
