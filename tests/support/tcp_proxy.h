#pragma once

#include <atomic>
#include <memory>
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
  // The next request whose bytes contain `marker` reaches the target, but
  // its reply does not reach the client: that connection drops as the reply
  // arrives, so the client cannot know how the request ended. With
  // `then_cut`, the proxy also cuts (see Cut) at that moment.
  void DropReplyTo(std::string marker, bool then_cut = false);

 private:
  // Whether the next bytes from the target on one connection are dropped.
  using Doomed = std::shared_ptr<std::atomic<bool>>;

  void AcceptLoop();
  // Copies `from` to `to`; `doomed` is checked on the target's side
  // (`from_target`) and set on the client's.
  void Pump(int from, int to, bool from_target, Doomed doomed);

  std::string target_host_;
  int target_port_;
  int listener_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_ = false;
  std::thread acceptor_;
  absl::Mutex mu_;
  bool cut_ ABSL_GUARDED_BY(mu_) = false;
  std::string drop_marker_ ABSL_GUARDED_BY(mu_);
  bool cut_after_drop_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<int> sockets_ ABSL_GUARDED_BY(mu_);
  std::vector<std::thread> pumps_ ABSL_GUARDED_BY(mu_);
};

// A proxy in front of the test database, and the DSN that goes through it.
class ProxiedDatabase final {
 public:
  ProxiedDatabase();

  TcpProxy& proxy() { return *proxy_; }
  const std::string& dsn() const { return dsn_; }

 private:
  std::unique_ptr<TcpProxy> proxy_;
  std::string dsn_;
};

}  // namespace shop::testing
