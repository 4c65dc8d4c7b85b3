#pragma once

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace shop::testing {

// A loopback TCP forwarder that a test can cut and restore, to play a
// database that goes away and comes back.
class TcpProxy final {
 public:
  TcpProxy(std::string target_host, int target_port);
  ~TcpProxy();

  int port() const { return port_; }
  // Drops every open connection and refuses new ones until Restore().
  void Cut();
  void Restore();

 private:
  void AcceptLoop();
  void Pump(int from, int to);

  std::string target_host_;
  int target_port_;
  int listener_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_ = false;
  std::thread acceptor_;
  absl::Mutex mu_;
  bool cut_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<int> sockets_ ABSL_GUARDED_BY(mu_);
  std::vector<std::thread> pumps_ ABSL_GUARDED_BY(mu_);
};

}  // namespace shop::testing
