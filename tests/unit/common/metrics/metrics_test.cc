#include "common/metrics/metrics.h"

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "common/metrics/admin_http.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/http_get.h"

namespace shop::metrics {
namespace {

using ::shop::testing::HttpExchange;
using ::testing::HasSubstr;

// Counters, gauges and histograms in Prometheus' text format: HELP and
// TYPE once per name, labels escaped, buckets cumulative up to +Inf.
TEST(MetricsTest, ExpositionIsPrometheusText) {
  Registry registry;
  registry.GetCounter("calls_total", "Calls.", {{"code", "OK"}})->Increment(3);
  registry.GetCounter("calls_total", "Calls.", {{"code", "ABORTED"}})
      ->Increment();
  registry.GetGauge("in_use", "In use.")->Set(-2);
  registry.GetCounter("odd_total", "Odd.", {{"v", "a\"b\\c\nd"}})->Increment();
  Histogram* latency = registry.GetHistogram("latency_seconds", "Latency.",
                                             {{"m", "Get"}}, {0.1, 1});
  latency->Observe(0.05);
  latency->Observe(0.1);
  latency->Observe(5);
  const std::string text = registry.Exposition();
  EXPECT_THAT(text, HasSubstr("# HELP calls_total Calls.\n"
                              "# TYPE calls_total counter\n"
                              "calls_total{code=\"ABORTED\"} 1\n"
                              "calls_total{code=\"OK\"} 3\n"));
  EXPECT_THAT(text, HasSubstr("# TYPE in_use gauge\nin_use -2\n"));
  EXPECT_THAT(text, HasSubstr("odd_total{v=\"a\\\"b\\\\c\\nd\"} 1\n"));
  EXPECT_THAT(text,
              HasSubstr("latency_seconds_bucket{m=\"Get\",le=\"0.1\"} 2\n"
                        "latency_seconds_bucket{m=\"Get\",le=\"1\"} 2\n"
                        "latency_seconds_bucket{m=\"Get\",le=\"+Inf\"} 3\n"
                        "latency_seconds_sum{m=\"Get\"} 5.15\n"
                        "latency_seconds_count{m=\"Get\"} 3\n"));
}

// Gauges read from elsewhere are set just before each exposition.
TEST(MetricsTest, CollectorsRunBeforeEachExposition) {
  Registry registry;
  int scrapes = 0;
  registry.OnCollect(
      [&] { registry.GetGauge("scrapes", "Scrapes.")->Set(++scrapes); });
  EXPECT_THAT(registry.Exposition(), HasSubstr("scrapes 1\n"));
  EXPECT_THAT(registry.Exposition(), HasSubstr("scrapes 2\n"));
}

// The admin port answers GET /metrics with the registry's text, and
// nothing else but 404 and 405.
TEST(AdminHttpTest, ServesMetricsOverHttp) {
  Registry registry;
  registry.GetCounter("hits_total", "Hits.")->Increment(7);
  absl::StatusOr<std::unique_ptr<AdminHttpServer>> server =
      AdminHttpServer::Start(
          "127.0.0.1:0",
          {{"/metrics", [&](const HttpRequest&) {
              return HttpResponse{200, "text/plain", registry.Exposition()};
            }}});
  ASSERT_TRUE(server.ok()) << server.status();
  const int port = (*server)->port();
  const std::string ok =
      HttpExchange(port, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_THAT(ok, HasSubstr("HTTP/1.1 200 OK\r\n"));
  EXPECT_THAT(ok, HasSubstr("\r\n\r\n# HELP hits_total Hits.\n"));
  EXPECT_THAT(ok, HasSubstr("hits_total 7\n"));
  EXPECT_THAT(HttpExchange(port, "GET /nope HTTP/1.1\r\n\r\n"),
              HasSubstr(" 404 "));
  EXPECT_THAT(HttpExchange(port, "POST /metrics HTTP/1.1\r\n\r\n"),
              HasSubstr(" 405 "));
  EXPECT_FALSE(AdminHttpServer::Start("nohostport", {}).ok());
}

// The query is decoded into repeatable parameters, headers come by
// lower-case name, a key ending in '*' serves the paths under it, and a
// handler's own headers are sent.
TEST(AdminHttpTest, PassesQueryHeadersAndPrefixes) {
  absl::StatusOr<std::unique_ptr<AdminHttpServer>> server =
      AdminHttpServer::Start(
          "127.0.0.1:0",
          {{"/api/*", [](const HttpRequest& request) {
              HttpResponse response{
                  200, "text/plain",
                  absl::StrCat(request.path, "|", request.Param("a"), "|",
                               absl::StrJoin(request.Params("t"), ","), "|",
                               request.Header("x-probe"))};
              response.headers.emplace_back("X-Answer", "yes");
              return response;
            }}});
  ASSERT_TRUE(server.ok()) << server.status();
  const std::string answer =
      HttpExchange((*server)->port(),
                   "GET /api/deep/path?a=x%20y+z&t=1&t=2&empty HTTP/1.1\r\n"
                   "X-Probe: here\r\n\r\n");
  EXPECT_THAT(answer, HasSubstr("\r\nX-Answer: yes\r\n"));
  EXPECT_THAT(answer, HasSubstr("\r\n\r\n/api/deep/path|x y z|1,2|here"));
  EXPECT_THAT(HttpExchange((*server)->port(), "GET /apix HTTP/1.1\r\n\r\n"),
              HasSubstr(" 404 "));
}

// A streamed answer goes out as it is written, with no length; a stream
// that never ends by itself ends when the server stops.
TEST(AdminHttpTest, StreamsUntilTheServerStops) {
  absl::StatusOr<std::unique_ptr<AdminHttpServer>> server =
      AdminHttpServer::Start(
          "127.0.0.1:0",
          {{"/stream", [](const HttpRequest&) {
              HttpResponse response{200, "text/event-stream", ""};
              response.stream = [](HttpStream& out) {
                out.Write("data: one\n\n");
                while (out.Write(": tick\n")) {
                  absl::SleepFor(absl::Milliseconds(20));
                }
              };
              return response;
            }}});
  ASSERT_TRUE(server.ok()) << server.status();
  std::string answer;
  std::thread reader([&] {
    answer = HttpExchange((*server)->port(), "GET /stream HTTP/1.1\r\n\r\n");
  });
  absl::SleepFor(absl::Milliseconds(200));
  server->reset();  // returns only once the stream has ended
  reader.join();
  EXPECT_THAT(answer, HasSubstr("Content-Type: text/event-stream\r\n"));
  EXPECT_THAT(answer, ::testing::Not(HasSubstr("Content-Length")));
  EXPECT_THAT(answer, HasSubstr("\r\n\r\ndata: one\n\n: tick\n"));
}

// Streams have a cap of their own below the connections', so that open
// live views never starve the probes and scrapes.
TEST(AdminHttpTest, StreamsLeaveRoomForPlainAnswers) {
  absl::StatusOr<std::unique_ptr<AdminHttpServer>> server =
      AdminHttpServer::Start(
          "127.0.0.1:0",
          {{"/stream",
            [](const HttpRequest&) {
              HttpResponse response{200, "text/event-stream", ""};
              response.stream = [](HttpStream& out) {
                while (out.Write(": tick\n")) {
                  absl::SleepFor(absl::Milliseconds(50));
                }
              };
              return response;
            }},
           {"/livez", [](const HttpRequest&) {
              return HttpResponse{200, "text/plain", "SERVING\n"};
            }}});
  ASSERT_TRUE(server.ok()) << server.status();
  const int port = (*server)->port();
  std::vector<std::unique_ptr<testing::HttpStreamReader>> open;
  for (int i = 0; i < AdminHttpServer::kMaxStreams; ++i) {
    open.push_back(std::make_unique<testing::HttpStreamReader>(
        port, "GET /stream HTTP/1.1\r\n\r\n"));
    ASSERT_NE(open.back()->WaitFor(": tick", absl::Seconds(5)),
              std::string::npos);
  }
  EXPECT_THAT(HttpExchange(port, "GET /stream HTTP/1.1\r\n\r\n"),
              HasSubstr("503 Service Unavailable"));
  EXPECT_THAT(HttpExchange(port, "GET /livez HTTP/1.1\r\n\r\n"),
              HasSubstr("200 OK"));
  open.pop_back();
  // The freed slot is found once its writer notices the closed socket.
  bool streamed = false;
  for (int attempt = 0; attempt < 50 && !streamed; ++attempt) {
    testing::HttpStreamReader again(port, "GET /stream HTTP/1.1\r\n\r\n");
    streamed = again.WaitFor(": tick", absl::Seconds(1)) != std::string::npos;
    if (!streamed) absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_TRUE(streamed);
}

}  // namespace
}  // namespace shop::metrics
