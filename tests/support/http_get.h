#pragma once

#include <string>

#include "absl/time/time.h"

namespace shop::testing {

// Sends `request` as is to 127.0.0.1:`port` and returns everything the
// server answers until it closes; enough for the admin port's HTTP/1.1.
std::string HttpExchange(int port, const std::string& request);

// The whole response to `GET path`.
std::string HttpGet(int port, const std::string& path);

// A GET whose answer keeps coming (Server-Sent Events): what has arrived
// is read while the test goes on acting.
class HttpStreamReader final {
 public:
  HttpStreamReader(int port, const std::string& request);
  ~HttpStreamReader();

  // Waits up to `timeout` for `needle` in what arrived after `from` bytes;
  // where it ends, or npos.
  size_t WaitFor(const std::string& needle, absl::Duration timeout,
                 size_t from = 0);
  const std::string& received() const { return received_; }

 private:
  int fd_ = -1;
  std::string received_;
};

}  // namespace shop::testing
