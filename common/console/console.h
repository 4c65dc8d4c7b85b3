#pragma once

// The operator's console on the admin port: its static page, its JSON
// endpoints (a read-only method of the service called in process with the
// request read from the query, as HTTP transcoding does, so validation and
// errors are the gRPC call's own), and its live view (the feed as
// Server-Sent Events). Only requests addressed to a loopback name are
// answered, so a web page elsewhere cannot reach the console through a
// name that resolves to 127.0.0.1.

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/eventstore/feed.h"
#include "common/metrics/admin_http.h"
#include "common/rpc/status_mapping.h"
#include "common/server/feed_stream.h"
#include "common/server/history.h"
#include "common/util/proto_json.h"
#include "common/util/proto_time.h"
#include "google/protobuf/message.h"
#include "grpcpp/grpcpp.h"

namespace shop::console {

using metrics::HttpRequest;
using metrics::HttpResponse;
using Handler = metrics::AdminHttpServer::Handler;
using Routes = std::map<std::string, Handler>;

// What the page is told about the service that serves it.
struct ConsoleInfo {
  std::string service;  // "inventory", "cart"
  // Services whose events this console also shows (the cart: inventory).
  std::vector<std::string> peers;
};

// The page's files, GET /api/console, and `api` under the guard; main adds
// the result to the admin port's routes.
Routes ConsoleRoutes(const ConsoleInfo& info, Routes api);

// 200 with `message` as JSON (every field, names in lowerCamelCase).
HttpResponse JsonResponse(const google::protobuf::Message& message);
// The HTTP status of `status`'s code, with {code, message, reason}.
HttpResponse ErrorResponse(const absl::Status& status);

// Sets `request`'s fields from the query's parameters (by proto or JSON
// name; a repeated field's name may repeat); INVALID_ARGUMENT naming an
// unknown parameter or a value that does not fit its field.
absl::Status ParseQueryInto(const HttpRequest& http,
                            google::protobuf::Message* request);

// One event of a page that shows several services' events in time order.
struct TaggedEvent {
  std::string service;
  absl::Time recorded_at;
  std::string json;  // the service's RecordedEvent
};
// Adds the events of a List*EventsResponse-like `response` as `service`'s.
template <typename Response>
void TagEvents(const std::string& service, const Response& response,
               std::vector<TaggedEvent>* out) {
  for (const auto& event : response.events()) {
    out->push_back({service, FromProto(event.recorded_at()), ToJson(event)});
  }
}
// {"events": [...each with "service", oldest first], "nextPageToken",
// "truncated"}.
std::string TaggedEventsJson(std::vector<TaggedEvent> events,
                             const std::string& next_page_token,
                             bool truncated);

// GET with the request in the query, answered by `method` of `service`.
template <typename Service, typename Request, typename Response>
Handler Unary(Service* service,
              grpc::Status (Service::*method)(grpc::ServerContext*,
                                              const Request*, Response*)) {
  return [service, method](const HttpRequest& http) {
    Request request;
    if (absl::Status parsed = ParseQueryInto(http, &request); !parsed.ok()) {
      return ErrorResponse(parsed);
    }
    grpc::ServerContext context;
    Response response;
    const grpc::Status status =
        (service->*method)(&context, &request, &response);
    if (!status.ok()) return ErrorResponse(FromGrpcStatus(status));
    return JsonResponse(response);
  };
}

// The feed's events after `from_position` (else the Last-Event-ID the
// browser resends, else from the end) as Server-Sent Events: each message's
// data is a SubscribeResponse as JSON and its id the position reached.
// `types` and `stream_prefix` filter as Subscribe's do.
absl::StatusOr<FeedFilter> LiveFilterOf(const HttpRequest& http);
// Where such a live view starts: from_position, else Last-Event-ID, else
// the end.
std::string LiveFromPosition(const HttpRequest& http);

// Relays one subscription to the connection: the feed's machine calls Send
// and End, the connection's thread writes.
class SseRelay : public FeedStream {
 public:
  SseRelay(eventstore::Feed* feed, FeedFilter filter);
  // Until the subscription ends or the browser goes away.
  void Run(metrics::HttpStream& out);

 protected:
  // The message's JSON.
  virtual std::string Encode(const FeedBatch& batch) = 0;

 private:
  void Send(FeedBatch batch) override;
  void End(const grpc::Status& status) override;

  absl::Mutex mu_;
  std::optional<FeedBatch> outbox_ ABSL_GUARDED_BY(mu_);
  std::optional<grpc::Status> ended_ ABSL_GUARDED_BY(mu_);
};

// GET /api/live for a service whose SubscribeResponse is `Response`.
template <typename Response>
Handler Live(eventstore::Feed* feed) {
  class Relay final : public SseRelay {
   public:
    using SseRelay::SseRelay;
    std::string Encode(const FeedBatch& batch) override {
      Response message;
      for (const eventstore::SharedEvent& event : batch.events) {
        auto* out = message.add_events();
        FillEvent(*event, out);
        out->set_position(eventstore::EncodePositionToken(event->position));
      }
      message.set_position(eventstore::EncodePositionToken(batch.position));
      message.set_caught_up(batch.caught_up);
      return ToJson(message);
    }
  };
  return [feed](const HttpRequest& http) {
    absl::StatusOr<FeedFilter> filter = LiveFilterOf(http);
    if (!filter.ok()) return ErrorResponse(filter.status());
    HttpResponse response{200, "text/event-stream; charset=utf-8", ""};
    response.stream = [feed,
                       filter = *std::move(filter)](metrics::HttpStream& out) {
      Relay relay(feed, filter);
      relay.Run(out);
    };
    return response;
  };
}

}  // namespace shop::console
