#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

namespace shop::metrics {

// One GET request: the path, the query's parameters decoded (a name may
// repeat), and the headers by lower-case name.
struct HttpRequest {
  std::string path;
  std::vector<std::pair<std::string, std::string>> query;
  std::map<std::string, std::string> headers;

  // The parameter's first value, empty when absent.
  std::string Param(absl::string_view name) const;
  std::vector<std::string> Params(absl::string_view name) const;
  std::string Header(absl::string_view lower_case_name) const;
};

// What a streaming answer writes through, until Write fails (the client
// went away or stopped reading for the send timeout) or the server stops.
class HttpStream {
 public:
  virtual ~HttpStream() = default;
  virtual bool Write(absl::string_view data) = 0;
  virtual bool stopping() const = 0;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  // When set, the body is not sent: this writes the answer, as long as it
  // likes, on the connection's thread (Server-Sent Events).
  std::function<void(HttpStream&)> stream;
};

// Splits "a=1&b=x%20y" into decoded pairs ('+' is a space).
std::vector<std::pair<std::string, std::string>> ParseQuery(
    absl::string_view query);

// The admin port: a small HTTP/1.1 server for GET requests of operators,
// their browsers and scrapers (/metrics, the console), each connection on
// a thread of its own up to a bound, each closed after its answer. Not for
// the service's own traffic, which is gRPC.
class AdminHttpServer final {
 public:
  using Handler = std::function<HttpResponse(const HttpRequest&)>;
  // More connections at once are answered 503 at once; of them, at most
  // kMaxStreams streamed answers, so that streams never starve the probes
  // and scrapes (more are answered 503 too).
  static constexpr int kMaxConnections = 64;
  static constexpr int kMaxStreams = 16;

  // Listens on `address` ("host:port", port 0 picks one) and serves the
  // paths in `handlers`; a key ending in '*' serves every path that starts
  // with what precedes it (the longest such key wins).
  static absl::StatusOr<std::unique_ptr<AdminHttpServer>> Start(
      const std::string& address, std::map<std::string, Handler> handlers);
  ~AdminHttpServer();

  int port() const { return port_; }

 private:
  AdminHttpServer(int fd, int port, std::map<std::string, Handler> handlers);
  void Serve();
  void Answer(int connection);
  const Handler* Find(const std::string& path) const;

  const int fd_;
  const int port_;
  const std::map<std::string, Handler> handlers_;
  std::atomic<bool> stopping_ = false;
  // Shared with the connections' threads, which end after the server's
  // destructor has seen the count reach 0.
  struct Connections {
    absl::Mutex mu;
    int count ABSL_GUARDED_BY(mu) = 0;
    int streams ABSL_GUARDED_BY(mu) = 0;
  };
  const std::shared_ptr<Connections> connections_ =
      std::make_shared<Connections>();
  std::thread thread_;
};

}  // namespace shop::metrics
