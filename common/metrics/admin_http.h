#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"

namespace shop::metrics {

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

// The admin port: a small HTTP/1.1 server for GET requests of operators
// and scrapers (/metrics), one connection at a time, each closed after its
// answer. Not for the service's own traffic, which is gRPC.
class AdminHttpServer final {
 public:
  using Handler = std::function<HttpResponse()>;

  // Listens on `address` ("host:port", port 0 picks one) and serves the
  // paths in `handlers` on a thread of its own.
  static absl::StatusOr<std::unique_ptr<AdminHttpServer>> Start(
      const std::string& address, std::map<std::string, Handler> handlers);
  ~AdminHttpServer();

  int port() const { return port_; }

 private:
  AdminHttpServer(int fd, int port, std::map<std::string, Handler> handlers);
  void Serve();
  void Answer(int connection);

  const int fd_;
  const int port_;
  const std::map<std::string, Handler> handlers_;
  std::atomic<bool> stopping_ = false;
  std::thread thread_;
};

}  // namespace shop::metrics
