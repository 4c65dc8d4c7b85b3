#include "common/console/console.h"

#include <arpa/inet.h>

#include <algorithm>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/console/assets.h"
#include "common/errors/errors.h"
#include "common/server/validation.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/util/json_util.h"

namespace shop::console {
namespace {

using google::protobuf::FieldDescriptor;

// Scripts, styles and fetches from this origin only; no inline script or
// style, so a payload that slips into markup still cannot run.
constexpr char kPolicy[] =
    "default-src 'self'; style-src 'self'; script-src 'self'; "
    "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; "
    "base-uri 'none'; form-action 'none'";

int HttpStatusOf(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kOk:
      return 200;
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kOutOfRange:
      return 400;
    case absl::StatusCode::kUnauthenticated:
      return 401;
    case absl::StatusCode::kPermissionDenied:
      return 403;
    case absl::StatusCode::kNotFound:
      return 404;
    case absl::StatusCode::kAborted:
    case absl::StatusCode::kAlreadyExists:
      return 409;
    case absl::StatusCode::kResourceExhausted:
      return 429;
    case absl::StatusCode::kCancelled:
      return 499;
    case absl::StatusCode::kUnimplemented:
      return 501;
    case absl::StatusCode::kUnavailable:
      return 503;
    case absl::StatusCode::kDeadlineExceeded:
      return 504;
    default:
      return 500;
  }
}

// The name a browser used, without its port: "localhost:9464" → localhost.
std::string HostName(const std::string& host) {
  if (absl::StartsWith(host, "[")) return host.substr(0, host.find(']') + 1);
  return absl::AsciiStrToLower(host.substr(0, host.find(':')));
}

bool IsLoopbackHost(const std::string& host) {
  const std::string name = HostName(host);
  in_addr address{};
  // An address in 127/8, not a DNS name that merely begins with "127.".
  return name == "localhost" || name == "[::1]" ||
         (::inet_pton(AF_INET, name.c_str(), &address) == 1 &&
          (ntohl(address.s_addr) >> 24) == 127);
}

const char* ContentTypeOf(absl::string_view name) {
  if (absl::EndsWith(name, ".js")) return "text/javascript; charset=utf-8";
  if (absl::EndsWith(name, ".css")) return "text/css; charset=utf-8";
  return "text/html; charset=utf-8";
}

// Adds the console's headers, after refusing what is not addressed to a
// loopback name.
Handler Guarded(Handler handler) {
  return [handler = std::move(handler)](const HttpRequest& http) {
    HttpResponse response;
    if (!IsLoopbackHost(http.Header("host"))) {
      response = ErrorResponse(MakeError(
          absl::StatusCode::kPermissionDenied, "shop", "CONSOLE_LOOPBACK_ONLY",
          "the console answers requests addressed to localhost only: reach "
          "it through kubectl port-forward or an SSH tunnel"));
    } else {
      response = handler(http);
    }
    response.headers.emplace_back("Content-Security-Policy", kPolicy);
    response.headers.emplace_back("X-Content-Type-Options", "nosniff");
    response.headers.emplace_back("Referrer-Policy", "no-referrer");
    response.headers.emplace_back("Cache-Control", "no-store");
    return response;
  };
}

// A query value as the JSON its field's parser takes.
absl::StatusOr<std::string> JsonValueOf(const FieldDescriptor& field,
                                        const std::string& value) {
  std::string json;
  if (field.cpp_type() == FieldDescriptor::CPPTYPE_BOOL) {
    if (value != "true" && value != "false") {
      return InvalidField(field.name(), "must be true or false");
    }
    return value;
  }
  AppendJsonString(value, &json);
  return json;
}

}  // namespace

HttpResponse JsonResponse(const google::protobuf::Message& message) {
  return {200, "application/json; charset=utf-8", ToJson(message)};
}

HttpResponse ErrorResponse(const absl::Status& status) {
  std::string body = "{\"code\":";
  AppendJsonString(absl::StatusCodeToString(status.code()), &body);
  absl::StrAppend(&body, ",\"message\":");
  AppendJsonString(status.message(), &body);
  absl::StrAppend(&body, ",\"reason\":");
  AppendJsonString(ReasonOf(status), &body);
  body.push_back('}');
  return {HttpStatusOf(status.code()), "application/json; charset=utf-8",
          std::move(body)};
}

std::string TaggedEventsJson(std::vector<TaggedEvent> events,
                             const std::string& next_page_token,
                             bool truncated) {
  std::stable_sort(events.begin(), events.end(),
                   [](const TaggedEvent& a, const TaggedEvent& b) {
                     return a.recorded_at < b.recorded_at;
                   });
  std::string json = "{\"events\":[";
  for (size_t i = 0; i < events.size(); ++i) {
    if (i > 0) json.push_back(',');
    json += "{\"service\":";
    AppendJsonString(events[i].service, &json);
    if (events[i].json.size() > 2) json.push_back(',');
    json.append(events[i].json, 1);
  }
  json += "],\"nextPageToken\":";
  AppendJsonString(next_page_token, &json);
  absl::StrAppend(&json, ",\"truncated\":", truncated ? "true" : "false", "}");
  return json;
}

absl::Status ParseQueryInto(const HttpRequest& http,
                            google::protobuf::Message* request) {
  const google::protobuf::Descriptor* descriptor = request->GetDescriptor();
  // Field → its values' JSON, in the order fields were first named.
  std::vector<std::pair<const FieldDescriptor*, std::vector<std::string>>>
      values;
  for (const auto& [name, value] : http.query) {
    const FieldDescriptor* field = descriptor->FindFieldByName(name);
    if (field == nullptr) field = descriptor->FindFieldByCamelcaseName(name);
    if (field == nullptr) {
      return InvalidField(name.substr(0, 64),
                          absl::StrCat("is not a field of ",
                                       std::string(descriptor->full_name())));
    }
    if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE &&
        field->message_type()->full_name() != "google.protobuf.Timestamp") {
      return InvalidField(field->name(), "cannot be given in a query");
    }
    absl::StatusOr<std::string> json = JsonValueOf(*field, value);
    if (!json.ok()) return json.status();
    auto it = std::find_if(
        values.begin(), values.end(),
        [field](const auto& entry) { return entry.first == field; });
    if (it == values.end()) {
      values.push_back({field, {}});
      it = values.end() - 1;
    } else if (!field->is_repeated()) {
      return InvalidField(field->name(), "is given more than once");
    }
    it->second.push_back(*std::move(json));
  }
  std::string json = "{";
  for (const auto& [field, list] : values) {
    if (json.size() > 1) json.push_back(',');
    AppendJsonString(field->name(), &json);
    json.push_back(':');
    if (field->is_repeated()) json.push_back('[');
    for (size_t i = 0; i < list.size(); ++i) {
      if (i > 0) json.push_back(',');
      json += list[i];
    }
    if (field->is_repeated()) json.push_back(']');
  }
  json.push_back('}');
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  options.case_insensitive_enum_parsing = false;
  if (auto parsed =
          google::protobuf::util::JsonStringToMessage(json, request, options);
      !parsed.ok()) {
    return MakeError(absl::StatusCode::kInvalidArgument, "shop",
                     "INVALID_FIELD",
                     absl::StrCat("query: ", std::string(parsed.message())));
  }
  return absl::OkStatus();
}

std::string LiveFromPosition(const HttpRequest& http) {
  std::string from = http.Param("from_position");
  if (from.empty()) from = http.Header("last-event-id");
  return from.empty() ? kFeedEnd : from;
}

absl::StatusOr<FeedFilter> LiveFilterOf(const HttpRequest& http) {
  const std::string from = LiveFromPosition(http);
  google::protobuf::RepeatedPtrField<std::string> types;
  for (std::string& type : http.Params("types")) *types.Add() = std::move(type);
  return ParseFeedRequest(from, types, http.Param("stream_prefix"));
}

SseRelay::SseRelay(eventstore::Feed* feed, FeedFilter filter)
    : FeedStream(feed, std::move(filter), FeedStreamOptions{}) {}

void SseRelay::Send(FeedBatch batch) {
  absl::MutexLock lock(&mu_);
  outbox_ = std::move(batch);
}

void SseRelay::End(const grpc::Status& status) {
  absl::MutexLock lock(&mu_);
  ended_ = status;
}

void SseRelay::Run(metrics::HttpStream& out) {
  Begin();
  bool cancelled = false;
  while (true) {
    std::optional<FeedBatch> batch;
    std::optional<grpc::Status> ended;
    {
      absl::MutexLock lock(&mu_);
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return outbox_.has_value() || ended_.has_value();
      };
      // Woken now and then to notice a server that stops.
      mu_.AwaitWithTimeout(absl::Condition(&ready), absl::Seconds(1));
      ended = ended_;
      if (!ended.has_value()) {
        batch = std::move(outbox_);
        outbox_.reset();
      }
    }
    if (ended.has_value()) {
      if (!ended->ok() && ended->error_code() != grpc::StatusCode::CANCELLED) {
        const HttpResponse error = ErrorResponse(FromGrpcStatus(*ended));
        out.Write(absl::StrCat("event: end\ndata: ", error.body, "\n\n"));
      }
      break;
    }
    if (batch.has_value()) {
      const std::string position =
          eventstore::EncodePositionToken(batch->position);
      Sent(out.Write(
          absl::StrCat("id: ", position, "\ndata: ", Encode(*batch), "\n\n")));
    } else if (out.stopping() && !cancelled) {
      cancelled = true;
      Cancelled();
    }
  }
  feed()->Detach(this);
}

Routes ConsoleRoutes(const ConsoleInfo& info, Routes api) {
  Routes routes;
  for (const EmbeddedFile& file : Embedded()) {
    HttpResponse response{200, ContentTypeOf(file.name),
                          std::string(file.bytes)};
    Handler serve = [response](const HttpRequest&) { return response; };
    const std::string path = file.name == "index.html"
                                 ? "/"
                                 : absl::StrCat("/", std::string(file.name));
    routes[path] = Guarded(serve);
  }
  std::string about = "{\"service\":";
  AppendJsonString(info.service, &about);
  absl::StrAppend(&about, ",\"peers\":[");
  for (size_t i = 0; i < info.peers.size(); ++i) {
    if (i > 0) about.push_back(',');
    AppendJsonString(info.peers[i], &about);
  }
  absl::StrAppend(&about, "]}");
  routes["/api/console"] = Guarded([about](const HttpRequest&) {
    return HttpResponse{200, "application/json; charset=utf-8", about};
  });
  for (auto& [path, handler] : api) routes[path] = Guarded(std::move(handler));
  return routes;
}

}  // namespace shop::console
