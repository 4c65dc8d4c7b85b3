#include "common/server/server.h"

#include <csignal>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/logging/log.h"
#include "common/server/access_log.h"
#include "common/server/grpc_metrics.h"
#include "google/protobuf/stubs/logging.h"
#include "grpc/health/v1/health.pb.h"
#include "grpc/support/log.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/health_check_service_interface.h"

namespace shop {

Server::Server(ServerOptions options) : options_(std::move(options)) {}

absl::StatusOr<std::unique_ptr<Server>> Server::Start(
    ServerOptions options, const std::vector<grpc::Service*>& services) {
  // Linking health.proto's descriptor lets reflection describe the health
  // service, which gRPC implements without the generated code.
  (void)grpc::health::v1::HealthCheckRequest::descriptor();
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();

  std::unique_ptr<Server> server(new Server(std::move(options)));
  grpc::ServerBuilder builder;
  builder.AddListeningPort(server->options_.listen_address,
                           server->options_.credentials != nullptr
                               ? server->options_.credentials
                               : grpc::InsecureServerCredentials(),
                           &server->port_);
  for (grpc::Service* service : services) builder.RegisterService(service);
  builder.SetMaxReceiveMessageSize(server->options_.max_request_bytes);
  // Handlers block on the database, and a batched write answers many calls
  // at once: with gRPC's default of 2 idle pollers, the threads freed by a
  // batch would exit and be created again for the next calls.
  builder.SetSyncServerOption(
      grpc::ServerBuilder::SyncServerOption::MAX_POLLERS, 256);
  std::vector<
      std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>>
      interceptors;
  if (server->options_.metrics != nullptr) {
    interceptors.push_back(
        MakeMetricsInterceptorFactory(server->options_.metrics));
  }
  if (server->options_.access_log) {
    interceptors.push_back(MakeAccessLogInterceptorFactory());
  }
  if (!interceptors.empty()) {
    builder.experimental().SetInterceptorCreators(std::move(interceptors));
  }
  server->server_ = builder.BuildAndStart();
  if (server->server_ == nullptr || server->port_ == 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", server->options_.listen_address));
  }
  grpc::HealthCheckServiceInterface* health =
      server->server_->GetHealthCheckService();
  server->ready_ = server->options_.readiness_check().ok();
  health->SetServingStatus("", true);
  health->SetServingStatus(server->options_.health_service_name,
                           server->ready_);
  if (!server->options_.metrics_listen.empty()) {
    metrics::Registry* registry = server->options_.metrics;
    auto probe = [](const std::atomic<bool>& serving) {
      return [&serving](const metrics::HttpRequest&) {
        return serving
                   ? metrics::HttpResponse{200, "text/plain", "SERVING\n"}
                   : metrics::HttpResponse{503, "text/plain", "NOT_SERVING\n"};
      };
    };
    std::map<std::string, metrics::AdminHttpServer::Handler> routes;
    if (server->options_.console_listen == "admin") {
      routes = server->options_.console_routes;
    }
    routes["/metrics"] = [registry](const metrics::HttpRequest&) {
      return metrics::HttpResponse{200,
                                   "text/plain; version=0.0.4; charset=utf-8",
                                   registry->Exposition()};
    };
    routes["/livez"] = probe(server->live_);
    routes["/readyz"] = probe(server->ready_);
    absl::StatusOr<std::unique_ptr<metrics::AdminHttpServer>> admin =
        metrics::AdminHttpServer::Start(server->options_.metrics_listen,
                                        std::move(routes));
    if (!admin.ok()) {
      server->server_->Shutdown();
      return admin.status();
    }
    server->admin_ = *std::move(admin);
  }
  const std::string& console = server->options_.console_listen;
  if (console != "admin" && console != "off" &&
      !server->options_.console_routes.empty()) {
    absl::StatusOr<std::unique_ptr<metrics::AdminHttpServer>> own =
        metrics::AdminHttpServer::Start(console,
                                        server->options_.console_routes);
    if (!own.ok()) {
      server->server_->Shutdown();
      return own.status();
    }
    server->console_ = *std::move(own);
  }
  server->readiness_thread_ =
      std::thread([s = server.get()] { s->WatchReadiness(); });
  return server;
}

Server::~Server() {
  Shutdown();
  Wait();
  // Its probes read the members below it.
  admin_.reset();
  console_.reset();
}

void Server::WatchReadiness() {
  absl::MutexLock lock(&mu_);
  while (!draining_) {
    mu_.AwaitWithTimeout(absl::Condition(&draining_),
                         options_.readiness_interval);
    if (draining_) break;
    mu_.Unlock();
    const bool ready = options_.readiness_check().ok();
    mu_.Lock();
    // Once draining, the health service ignores updates anyway.
    if (!draining_) {
      ready_ = ready;
      server_->GetHealthCheckService()->SetServingStatus(
          options_.health_service_name, ready);
    }
  }
}

void Server::Shutdown() {
  {
    absl::MutexLock lock(&mu_);
    if (draining_) return;
    draining_ = true;
    if (server_ == nullptr) {  // it never listened
      stopped_ = true;
      return;
    }
    // Every health name reports NOT_SERVING from here on.
    server_->GetHealthCheckService()->Shutdown();
    live_ = false;
    ready_ = false;
  }
  LogJson("info", absl::StrCat("draining: health NOT_SERVING, calls in flight "
                               "have ",
                               absl::FormatDuration(options_.shutdown_grace)));
  options_.on_drain();
  server_->Shutdown(absl::ToChronoTime(absl::Now() + options_.shutdown_grace));
  server_->Wait();
  // Last: a readiness check stuck on a silent database must not hold up
  // the drain.
  if (readiness_thread_.joinable()) readiness_thread_.join();
  absl::MutexLock lock(&mu_);
  stopped_ = true;
}

void Server::Wait() {
  absl::MutexLock lock(&mu_);
  mu_.Await(absl::Condition(&stopped_));
}

namespace {

sigset_t TerminationSignals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  return signals;
}

}  // namespace

void BlockTerminationSignals() {
  sigset_t signals = TerminationSignals();
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
}

void RouteLibraryLogsToJson() {
  google::protobuf::SetLogHandler(+[](google::protobuf::LogLevel level,
                                      const char* file, int line,
                                      const std::string& message) {
    LogJson(level >= google::protobuf::LOGLEVEL_ERROR ? "error" : "warn",
            absl::StrCat("protobuf ", file, ":", line, ": ", message));
  });
  gpr_set_log_function(+[](gpr_log_func_args* args) {
    const char* level = args->severity == GPR_LOG_SEVERITY_ERROR  ? "error"
                        : args->severity == GPR_LOG_SEVERITY_INFO ? "info"
                                                                  : "debug";
    LogJson(level, absl::StrCat("grpc ", args->file, ":", args->line, ": ",
                                args->message));
  });
}

bool TerminationPending() {
  sigset_t pending;
  sigemptyset(&pending);
  sigpending(&pending);
  return sigismember(&pending, SIGTERM) == 1 ||
         sigismember(&pending, SIGINT) == 1;
}

int AwaitTerminationSignal() {
  sigset_t signals = TerminationSignals();
  int signal = 0;
  sigwait(&signals, &signal);
  return signal;
}

}  // namespace shop
