#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/metrics/admin_http.h"
#include "common/metrics/metrics.h"
#include "grpcpp/grpcpp.h"

namespace shop {

struct ServerOptions {
  std::string listen_address = "127.0.0.1:0";
  // The gRPC port's TLS (see ServerCredentialsFor); none: plaintext.
  std::shared_ptr<grpc::ServerCredentials> credentials;
  // Health name that is SERVING only while `readiness_check` passes and the
  // server is not draining, e.g. "inventory.v1.InventoryService". The
  // empty name is SERVING while the process is up and not draining.
  std::string health_service_name;
  std::function<absl::Status()> readiness_check = [] {
    return absl::OkStatus();
  };
  absl::Duration readiness_interval = absl::Seconds(1);
  absl::Duration shutdown_grace = absl::Seconds(20);
  bool access_log = true;
  // Where calls are counted and timed; none counts nothing.
  metrics::Registry* metrics = &metrics::Default();
  // The admin HTTP port serving GET /metrics from `metrics`, and the
  // health names as GET /livez and /readyz (200 or 503) for probes that
  // cannot speak TLS; empty: none.
  std::string metrics_listen;
  // The console's paths, and where they are served: "admin" (on the admin
  // port, beside those three), "off", or host:port of their own.
  std::map<std::string, metrics::AdminHttpServer::Handler> console_routes;
  std::string console_listen = "admin";
  // Larger requests are RESOURCE_EXHAUSTED before they are parsed. The
  // largest a valid request of our APIs gets is a few tens of KiB.
  int max_request_bytes = 256 << 10;
  // Runs when the drain begins, before the grace period: ends the calls
  // that would never end by themselves (subscriptions).
  std::function<void()> on_drain = [] {};
};

// A gRPC server with reflection, health, JSON access logs and a graceful
// drain. The caller owns the services, which must outlive the server.
class Server final {
 public:
  static absl::StatusOr<std::unique_ptr<Server>> Start(
      ServerOptions options, const std::vector<grpc::Service*>& services);
  ~Server();

  int port() const { return port_; }
  // The admin HTTP port, 0 when there is none.
  int metrics_port() const { return admin_ == nullptr ? 0 : admin_->port(); }
  // The console's own port, 0 when it has none.
  int console_port() const {
    return console_ == nullptr ? 0 : console_->port();
  }

  // Health turns NOT_SERVING at once, new calls are refused, calls in
  // flight get up to the grace period to finish. Safe to call twice.
  void Shutdown();
  // Blocks until Shutdown has completed.
  void Wait();

 private:
  explicit Server(ServerOptions options);
  void WatchReadiness();

  ServerOptions options_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<metrics::AdminHttpServer> admin_;
  std::unique_ptr<metrics::AdminHttpServer> console_;
  int port_ = 0;
  absl::Mutex mu_;
  bool draining_ ABSL_GUARDED_BY(mu_) = false;
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
  // What the health names say, for the admin port's probes.
  std::atomic<bool> live_ = true;
  std::atomic<bool> ready_ = false;
  std::thread readiness_thread_;
};

// Blocks SIGTERM and SIGINT for this thread and the threads it starts, so
// that AwaitTerminationSignal receives them. Call first thing in main.
void BlockTerminationSignals();

// Sends what gRPC and protobuf log (a message that does not parse, say) to
// LogJson, so every line the process writes is JSON.
void RouteLibraryLogsToJson();
// Waits for SIGTERM or SIGINT and returns its number.
int AwaitTerminationSignal();
// Whether SIGTERM or SIGINT arrived (blocked) and nobody has taken it yet.
bool TerminationPending();

}  // namespace shop
