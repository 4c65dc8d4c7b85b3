#include "common/metrics/metrics.h"

#include <string>

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
          {{"/metrics", [&] {
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

}  // namespace
}  // namespace shop::metrics
