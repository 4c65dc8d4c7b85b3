#include "common/metrics/admin_http.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace shop::metrics {
namespace {

// A request line and headers larger than this are refused.
constexpr size_t kMaxRequestBytes = 8192;

const char* Reason(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 409:
      return "Conflict";
    case 429:
      return "Too Many Requests";
    case 499:
      return "Client Closed Request";
    case 501:
      return "Not Implemented";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    default:
      return status >= 500 ? "Internal Server Error" : "Bad Request";
  }
}

bool SendAll(int fd, absl::string_view data) {
  size_t sent = 0;
  while (sent < data.size()) {
    const ssize_t n =
        ::send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return false;
    sent += static_cast<size_t>(n);
  }
  return true;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  c = absl::ascii_tolower(c);
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

std::string Decode(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '+') {
      out.push_back(' ');
    } else if (text[i] == '%' && i + 2 < text.size() &&
               HexValue(text[i + 1]) >= 0 && HexValue(text[i + 2]) >= 0) {
      out.push_back(static_cast<char>(HexValue(text[i + 1]) * 16 +
                                      HexValue(text[i + 2])));
      i += 2;
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

class SocketStream final : public HttpStream {
 public:
  SocketStream(int fd, const std::atomic<bool>& stopping)
      : fd_(fd), stopping_(stopping) {}
  bool Write(absl::string_view data) override {
    return !stopping_ && SendAll(fd_, data);
  }
  bool stopping() const override { return stopping_; }

 private:
  const int fd_;
  const std::atomic<bool>& stopping_;
};

HttpResponse Plain(int status, std::string body) {
  return {status, "text/plain; charset=utf-8", std::move(body)};
}

}  // namespace

std::string HttpRequest::Param(absl::string_view name) const {
  for (const auto& [key, value] : query) {
    if (key == name) return value;
  }
  return "";
}

std::vector<std::string> HttpRequest::Params(absl::string_view name) const {
  std::vector<std::string> values;
  for (const auto& [key, value] : query) {
    if (key == name) values.push_back(value);
  }
  return values;
}

std::string HttpRequest::Header(absl::string_view lower_case_name) const {
  auto found = headers.find(std::string(lower_case_name));
  return found == headers.end() ? "" : found->second;
}

std::vector<std::pair<std::string, std::string>> ParseQuery(
    absl::string_view query) {
  std::vector<std::pair<std::string, std::string>> pairs;
  for (absl::string_view part : absl::StrSplit(query, '&', absl::SkipEmpty())) {
    const size_t equals = part.find('=');
    if (equals == absl::string_view::npos) {
      pairs.emplace_back(Decode(part), "");
    } else {
      pairs.emplace_back(Decode(part.substr(0, equals)),
                         Decode(part.substr(equals + 1)));
    }
  }
  return pairs;
}

absl::StatusOr<std::unique_ptr<AdminHttpServer>> AdminHttpServer::Start(
    const std::string& address, std::map<std::string, Handler> handlers) {
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("admin address '", address, "' is not host:port"));
  }
  const std::string host = address.substr(0, colon);
  const std::string port = address.substr(colon + 1);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* found = nullptr;
  if (int rc = ::getaddrinfo(host.empty() ? nullptr : host.c_str(),
                             port.c_str(), &hints, &found);
      rc != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("admin address '", address, "': ", ::gai_strerror(rc)));
  }
  int fd = ::socket(found->ai_family, found->ai_socktype | SOCK_CLOEXEC, 0);
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  const bool bound = fd >= 0 &&
                     ::bind(fd, found->ai_addr, found->ai_addrlen) == 0 &&
                     ::listen(fd, 16) == 0;
  ::freeaddrinfo(found);
  if (!bound) {
    const std::string error = std::strerror(errno);
    if (fd >= 0) ::close(fd);
    return absl::UnavailableError(
        absl::StrCat("admin address ", address, ": ", error));
  }
  sockaddr_storage local{};
  socklen_t length = sizeof(local);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &length);
  const int bound_port =
      local.ss_family == AF_INET6
          ? ntohs(reinterpret_cast<sockaddr_in6*>(&local)->sin6_port)
          : ntohs(reinterpret_cast<sockaddr_in*>(&local)->sin_port);
  return std::unique_ptr<AdminHttpServer>(
      new AdminHttpServer(fd, bound_port, std::move(handlers)));
}

AdminHttpServer::AdminHttpServer(int fd, int port,
                                 std::map<std::string, Handler> handlers)
    : fd_(fd), port_(port), handlers_(std::move(handlers)) {
  thread_ = std::thread([this] { Serve(); });
}

AdminHttpServer::~AdminHttpServer() {
  stopping_ = true;
  ::shutdown(fd_, SHUT_RDWR);
  thread_.join();
  ::close(fd_);
  // Streams notice stopping_ within their own wait; answers finish.
  absl::MutexLock lock(&connections_->mu);
  connections_->mu.Await(absl::Condition(
      +[](int* count) { return *count == 0; }, &connections_->count));
}

void AdminHttpServer::Serve() {
  while (!stopping_) {
    // Woken at least every 200 ms, so that a stop never waits on accept.
    pollfd waiting{fd_, POLLIN, 0};
    if (::poll(&waiting, 1, 200) <= 0) continue;
    const int connection = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (connection < 0) continue;
    timeval timeout{2, 0};
    ::setsockopt(connection, SOL_SOCKET, SO_RCVTIMEO, &timeout,
                 sizeof(timeout));
    ::setsockopt(connection, SOL_SOCKET, SO_SNDTIMEO, &timeout,
                 sizeof(timeout));
    bool admitted = false;
    {
      absl::MutexLock lock(&connections_->mu);
      if (connections_->count < kMaxConnections) {
        ++connections_->count;
        admitted = true;
      }
    }
    if (!admitted) {
      SendAll(connection,
              "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n"
              "Connection: close\r\n\r\n");
      ::close(connection);
      continue;
    }
    std::thread([this, connection, connections = connections_] {
      Answer(connection);
      ::close(connection);
      absl::MutexLock lock(&connections->mu);
      --connections->count;
    }).detach();
  }
}

const AdminHttpServer::Handler* AdminHttpServer::Find(
    const std::string& path) const {
  if (auto exact = handlers_.find(path); exact != handlers_.end()) {
    return &exact->second;
  }
  const Handler* best = nullptr;
  size_t best_length = 0;
  for (const auto& [key, handler] : handlers_) {
    if (!absl::EndsWith(key, "*")) continue;
    const absl::string_view prefix(key.data(), key.size() - 1);
    if (absl::StartsWith(path, prefix) && prefix.size() >= best_length) {
      best = &handler;
      best_length = prefix.size();
    }
  }
  return best;
}

void AdminHttpServer::Answer(int connection) {
  std::string request;
  char buffer[1024];
  while (request.find("\r\n\r\n") == std::string::npos &&
         request.size() < kMaxRequestBytes) {
    const ssize_t n = ::recv(connection, buffer, sizeof(buffer), 0);
    if (n <= 0) return;
    request.append(buffer, static_cast<size_t>(n));
  }
  HttpResponse response;
  std::vector<std::string> lines =
      absl::StrSplit(request.substr(0, request.find("\r\n\r\n")), "\r\n");
  const std::vector<std::string> first = absl::StrSplit(lines[0], ' ');
  if (first.size() != 3 || request.size() >= kMaxRequestBytes) {
    response = Plain(400, "bad request\n");
  } else if (first[0] != "GET") {
    response = Plain(405, "only GET\n");
  } else {
    HttpRequest parsed;
    const size_t question = first[1].find('?');
    parsed.path = first[1].substr(0, question);
    if (question != std::string::npos) {
      parsed.query =
          ParseQuery(absl::string_view(first[1]).substr(question + 1));
    }
    for (size_t i = 1; i < lines.size(); ++i) {
      const size_t colon = lines[i].find(':');
      if (colon == std::string::npos) continue;
      parsed.headers[absl::AsciiStrToLower(lines[i].substr(0, colon))] =
          std::string(absl::StripAsciiWhitespace(
              absl::string_view(lines[i]).substr(colon + 1)));
    }
    const Handler* handler = Find(parsed.path);
    response =
        handler == nullptr ? Plain(404, "not found\n") : (*handler)(parsed);
  }
  std::string head =
      absl::StrCat("HTTP/1.1 ", response.status, " ", Reason(response.status),
                   "\r\nContent-Type: ", response.content_type, "\r\n");
  for (const auto& [name, value] : response.headers) {
    absl::StrAppend(&head, name, ": ", value, "\r\n");
  }
  if (response.stream) {
    {
      absl::MutexLock lock(&connections_->mu);
      if (connections_->streams >= kMaxStreams) {
        SendAll(connection,
                "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain"
                "\r\nContent-Length: 28\r\nConnection: close\r\n\r\n"
                "too many streams: try later\n");
        return;
      }
      ++connections_->streams;
    }
    absl::StrAppend(&head, "Connection: close\r\n\r\n");
    SocketStream stream(connection, stopping_);
    if (stream.Write(head)) response.stream(stream);
    absl::MutexLock lock(&connections_->mu);
    --connections_->streams;
    return;
  }
  absl::StrAppend(&head, "Content-Length: ", response.body.size(),
                  "\r\nConnection: close\r\n\r\n");
  SendAll(connection, head + response.body);
}

}  // namespace shop::metrics
