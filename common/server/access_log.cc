#include "common/server/access_log.h"

#include <cstdio>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/eventstore/uuid.h"
#include "common/util/proto_json.h"
#include "grpcpp/grpcpp.h"

namespace shop {
namespace {

// `text` as a JSON string literal, quotes included.
std::string Quoted(absl::string_view text) {
  std::string out;
  AppendJsonString(text, &out);
  return out;
}

// Codes that mean something is wrong on our side: their text is logged.
bool IsServerFault(grpc::StatusCode code) {
  return code == grpc::StatusCode::INTERNAL ||
         code == grpc::StatusCode::UNKNOWN ||
         code == grpc::StatusCode::DATA_LOSS ||
         code == grpc::StatusCode::UNAVAILABLE;
}

std::string MetadataValue(grpc::ServerContextBase* context,
                          absl::string_view key) {
  const auto& metadata = context->client_metadata();
  auto it = metadata.find(grpc::string_ref(key.data(), key.size()));
  if (it == metadata.end()) return "";
  return std::string(it->second.data(), it->second.size());
}

class AccessLogInterceptor final : public grpc::experimental::Interceptor {
 public:
  explicit AccessLogInterceptor(grpc::experimental::ServerRpcInfo* info)
      : info_(info), start_(absl::Now()) {}

  void Intercept(
      grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            grpc::experimental::InterceptionHookPoints::
                POST_RECV_INITIAL_METADATA)) {
      // A call without a request id gets one here, so that this log line
      // and the events the call writes name the same one.
      auto* metadata = methods->GetRecvInitialMetadata();
      if (metadata->find(kRequestId) == metadata->end()) {
        request_id_ = eventstore::NewUuid();
        metadata->emplace(kRequestId, request_id_);
      }
    }
    if (methods->QueryInterceptionHookPoint(
            grpc::experimental::InterceptionHookPoints::PRE_SEND_STATUS)) {
      Log(methods->GetSendStatus());
    }
    methods->Proceed();
  }

 private:
  void Log(const grpc::Status& status) {
    grpc::ServerContextBase* context = info_->server_context();
    std::string line = absl::StrCat(
        "{\"time\":\"",
        absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(),
                         absl::UTCTimeZone()),
        "\",\"method\":", Quoted(info_->method()), ",\"code\":\"",
        absl::StatusCodeToString(
            static_cast<absl::StatusCode>(status.error_code())),
        "\",\"latency_ms\":",
        absl::StrFormat("%.3f",
                        absl::ToDoubleMilliseconds(absl::Now() - start_)),
        ",\"peer\":", Quoted(context->peer()));
    for (const auto& [header, field] :
         {std::pair{"x-request-id", "request_id"},
          std::pair{"x-correlation-id", "correlation_id"}}) {
      std::string value = MetadataValue(context, header);
      if (!value.empty()) {
        absl::StrAppend(&line, ",\"", field, "\":", Quoted(value));
      }
    }
    if (IsServerFault(status.error_code())) {
      absl::StrAppend(&line, ",\"error\":", Quoted(status.error_message()));
    }
    line += "}\n";
    // One write per line keeps lines whole when calls finish together.
    std::fwrite(line.data(), 1, line.size(), stdout);
    std::fflush(stdout);
  }

  static constexpr char kRequestId[] = "x-request-id";

  grpc::experimental::ServerRpcInfo* info_;
  absl::Time start_;
  // Backs the metadata entry added for a call that came without one.
  std::string request_id_;
};

class AccessLogFactory final
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    return new AccessLogInterceptor(info);
  }
};

}  // namespace

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
MakeAccessLogInterceptorFactory() {
  return std::make_unique<AccessLogFactory>();
}

}  // namespace shop
