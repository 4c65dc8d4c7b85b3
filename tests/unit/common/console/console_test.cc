#include "common/console/console.h"

#include <string>

#include "absl/time/time.h"
#include "common/errors/errors.h"
#include "common/util/proto_time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "inventory/v1/inventory.pb.h"
#include "tests/support/status_matchers.h"

namespace shop::console {
namespace {

using ::shop::testing::StatusIs;
using ::testing::HasSubstr;

HttpRequest Get(const std::string& path, const std::string& query = "",
                const std::string& host = "localhost:9464") {
  HttpRequest request;
  request.path = path;
  request.query = metrics::ParseQuery(query);
  request.headers["host"] = host;
  return request;
}

std::string HeaderOf(const HttpResponse& response, const std::string& name) {
  for (const auto& [key, value] : response.headers) {
    if (key == name) return value;
  }
  return "";
}

// Query parameters fill the request's fields by proto or JSON name:
// repeated ones repeat, enums by name, timestamps in RFC 3339, int64 as
// digits.
TEST(ParseQueryIntoTest, FillsFieldsByName) {
  inventory::v1::ListProductEventsRequest request;
  ASSERT_TRUE(
      ParseQueryInto(
          Get("/",
              "product_id=p%2D1&types=stock.received&types=stock.reserved&"
              "direction=READ_DIRECTION_BACKWARD&fromVersion=12&max_count=50&"
              "from_time=2026-12-07T10%3A00%3A00Z"),
          &request)
          .ok());
  EXPECT_EQ(request.product_id(), "p-1");
  EXPECT_THAT(request.types(),
              ::testing::ElementsAre("stock.received", "stock.reserved"));
  EXPECT_EQ(request.direction(), inventory::v1::READ_DIRECTION_BACKWARD);
  EXPECT_EQ(request.from_version(), 12);
  EXPECT_EQ(request.max_count(), 50);
  EXPECT_EQ(FromProto(request.from_time()),
            absl::FromCivil(absl::CivilSecond(2026, 12, 7, 10, 0, 0),
                            absl::UTCTimeZone()));
}

// Each refusal names the parameter and leaves nothing half-parsed for a
// handler to run with.
TEST(ParseQueryIntoTest, RefusesWhatDoesNotFit) {
  inventory::v1::ListProductEventsRequest request;
  EXPECT_THAT(ParseQueryInto(Get("/", "product=x"), &request),
              StatusIs(absl::StatusCode::kInvalidArgument, "INVALID_FIELD"));
  EXPECT_THAT(
      ParseQueryInto(Get("/", "product=x"), &request).message(),
      HasSubstr(
          "product is not a field of inventory.v1.ListProductEventsRequest"));
  EXPECT_THAT(
      ParseQueryInto(Get("/", "product_id=a&product_id=b"), &request).message(),
      HasSubstr("product_id is given more than once"));
  EXPECT_THAT(ParseQueryInto(Get("/", "max_count=many"), &request).message(),
              HasSubstr("max_count"));
  EXPECT_THAT(ParseQueryInto(Get("/", "from_time=yesterday"), &request),
              StatusIs(absl::StatusCode::kInvalidArgument, "INVALID_FIELD"));
  EXPECT_THAT(ParseQueryInto(Get("/", "direction=SIDEWAYS"), &request),
              StatusIs(absl::StatusCode::kInvalidArgument, "INVALID_FIELD"));
}

// The HTTP status follows the code as Google's APIs map it, and the body
// carries code, message and reason for the page to show.
TEST(ErrorResponseTest, MapsCodeAndCarriesReason) {
  const HttpResponse missing =
      ErrorResponse(MakeError(absl::StatusCode::kNotFound, "inventory",
                              "PRODUCT_NOT_FOUND", "product \"x\" not found"));
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.body,
            "{\"code\":\"NOT_FOUND\",\"message\":\"product \\\"x\\\" not "
            "found\",\"reason\":\"PRODUCT_NOT_FOUND\"}");
  EXPECT_EQ(ErrorResponse(absl::InvalidArgumentError("x")).status, 400);
  EXPECT_EQ(ErrorResponse(absl::FailedPreconditionError("x")).status, 400);
  EXPECT_EQ(ErrorResponse(absl::AbortedError("x")).status, 409);
  EXPECT_EQ(ErrorResponse(absl::ResourceExhaustedError("x")).status, 429);
  EXPECT_EQ(ErrorResponse(absl::UnavailableError("x")).status, 503);
  EXPECT_EQ(ErrorResponse(absl::DeadlineExceededError("x")).status, 504);
  EXPECT_EQ(ErrorResponse(absl::PermissionDeniedError("x")).status, 403);
  EXPECT_EQ(ErrorResponse(absl::InternalError("x")).status, 500);
}

// The page, its files and its API are answered only to a loopback name,
// always with the policy that keeps payloads from running as script.
TEST(ConsoleRoutesTest, ServesOnlyLoopbackNamesWithThePolicy) {
  int calls = 0;
  Routes routes =
      ConsoleRoutes({.service = "cart", .peers = {"inventory"}},
                    {{"/api/thing", [&calls](const HttpRequest&) {
                        ++calls;
                        return HttpResponse{200, "application/json", "{}"};
                      }}});
  for (const char* host :
       {"localhost:9465", "127.0.0.1:9465", "[::1]:9465", "LOCALHOST"}) {
    const HttpResponse page = routes.at("/")(Get("/", "", host));
    EXPECT_EQ(page.status, 200) << host;
    EXPECT_THAT(page.body, HasSubstr("console.js")) << host;
  }
  for (const char* host :
       {"shop.example:9465", "localhost.evil.example", "",
        "127.0.0.1.evil.example", "127.evil.example", "10.0.0.7:9465"}) {
    const HttpResponse refused = routes.at("/api/thing")(Get("/", "", host));
    EXPECT_EQ(refused.status, 403) << host;
    EXPECT_THAT(refused.body, HasSubstr("CONSOLE_LOOPBACK_ONLY")) << host;
  }
  EXPECT_EQ(calls, 0);
  const HttpResponse about = routes.at("/api/console")(Get("/api/console"));
  EXPECT_EQ(about.body, "{\"service\":\"cart\",\"peers\":[\"inventory\"]}");
  EXPECT_THAT(HeaderOf(about, "Content-Security-Policy"),
              HasSubstr("script-src 'self'"));
  EXPECT_EQ(HeaderOf(about, "X-Content-Type-Options"), "nosniff");
  EXPECT_EQ(routes.at("/console.js")(Get("/console.js")).content_type,
            "text/javascript; charset=utf-8");
  EXPECT_EQ(routes.at("/console.css")(Get("/console.css")).content_type,
            "text/css; charset=utf-8");
}

// Two services' events come out in time order, each tagged with its
// service, and the payloads stay JSON strings (escaped, never markup).
TEST(TaggedEventsJsonTest, MergesInTimeOrder) {
  const absl::Time t0 = absl::FromUnixSeconds(1'800'000'000);
  std::vector<TaggedEvent> events = {
      {"cart", t0 + absl::Seconds(2), "{\"type\":\"item.added\"}"},
      {"inventory", t0 + absl::Seconds(1),
       "{\"type\":\"stock.reserved\",\"dataJson\":\"{\\\"r\\\":\\\"<b>\\\"}"
       "\"}"},
      {"cart", t0, "{}"}};
  EXPECT_EQ(TaggedEventsJson(std::move(events), "", /*truncated=*/true),
            "{\"events\":[{\"service\":\"cart\"},"
            "{\"service\":\"inventory\",\"type\":\"stock.reserved\","
            "\"dataJson\":\"{\\\"r\\\":\\\"<b>\\\"}\"},"
            "{\"service\":\"cart\",\"type\":\"item.added\"}],"
            "\"nextPageToken\":\"\",\"truncated\":true}");
}

// The live view starts at the end unless told a position, and takes the
// browser's Last-Event-ID when it reconnects by itself.
TEST(LiveFilterOfTest, StartsAtTheEndOrWhereTheBrowserWas) {
  absl::StatusOr<FeedFilter> fresh = LiveFilterOf(Get("/api/live"));
  ASSERT_TRUE(fresh.ok()) << fresh.status();
  EXPECT_TRUE(fresh->from_end);
  HttpRequest again =
      Get("/api/live", "stream_prefix=product-&types=a&types=b");
  again.headers["last-event-id"] = eventstore::EncodePositionToken({7, 3});
  absl::StatusOr<FeedFilter> resumed = LiveFilterOf(again);
  ASSERT_TRUE(resumed.ok()) << resumed.status();
  EXPECT_FALSE(resumed->from_end);
  EXPECT_EQ(resumed->after, (eventstore::GlobalPosition{7, 3}));
  EXPECT_EQ(resumed->stream_prefix, "product-");
  EXPECT_EQ(resumed->types.size(), 2u);
  EXPECT_THAT(LiveFilterOf(Get("/api/live", "from_position=nonsense")),
              StatusIs(absl::StatusCode::kInvalidArgument, "INVALID_FIELD"));
}

}  // namespace
}  // namespace shop::console
