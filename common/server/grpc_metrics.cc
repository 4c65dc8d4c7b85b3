#include "common/server/grpc_metrics.h"

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace shop {
namespace {

// "/inventory.v1.InventoryService/ReserveStock" as service and method.
std::pair<std::string, std::string> Split(absl::string_view full) {
  if (!full.empty() && full.front() == '/') full.remove_prefix(1);
  const size_t slash = full.find('/');
  if (slash == absl::string_view::npos) return {std::string(full), ""};
  return {std::string(full.substr(0, slash)),
          std::string(full.substr(slash + 1))};
}

// Google's names for the codes, as gRPC's own metrics spell them.
std::string CodeName(grpc::StatusCode code) {
  std::string name =
      absl::StatusCodeToString(static_cast<absl::StatusCode>(code));
  return name.empty() ? "UNKNOWN" : name;
}

class MetricsInterceptor final : public grpc::experimental::Interceptor {
 public:
  MetricsInterceptor(grpc::experimental::ServerRpcInfo* info,
                     metrics::Registry* registry)
      : info_(info), registry_(registry), start_(absl::Now()) {}

  void Intercept(
      grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            grpc::experimental::InterceptionHookPoints::PRE_SEND_STATUS)) {
      const auto [service, method] = Split(info_->method());
      const grpc::Status status = methods->GetSendStatus();
      registry_
          ->GetCounter("grpc_server_handled_total",
                       "gRPC calls answered, by method and code.",
                       {{"grpc_service", service},
                        {"grpc_method", method},
                        {"grpc_code", CodeName(status.error_code())}})
          ->Increment();
      registry_
          ->GetHistogram("grpc_server_handling_seconds",
                         "Time from a call's arrival to its answer.",
                         {{"grpc_service", service}, {"grpc_method", method}},
                         metrics::LatencyBuckets())
          ->Observe(absl::ToDoubleSeconds(absl::Now() - start_));
    }
    methods->Proceed();
  }

 private:
  grpc::experimental::ServerRpcInfo* info_;
  metrics::Registry* registry_;
  absl::Time start_;
};

class MetricsFactory final
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit MetricsFactory(metrics::Registry* registry) : registry_(registry) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    return new MetricsInterceptor(info, registry_);
  }

 private:
  metrics::Registry* registry_;
};

}  // namespace

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
MakeMetricsInterceptorFactory(metrics::Registry* registry) {
  return std::make_unique<MetricsFactory>(registry);
}

}  // namespace shop
