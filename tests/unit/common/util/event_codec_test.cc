// The event catalogue: one name per alternative, JSON both ways, and a
// clear refusal of what it does not know.
#include "common/util/event_codec.h"

#include <variant>

#include "gmock/gmock.h"
#include "google/protobuf/wrappers.pb.h"
#include "gtest/gtest.h"

namespace shop {
namespace {

using ::google::protobuf::Int64Value;
using ::google::protobuf::StringValue;
using Event = std::variant<StringValue, Int64Value>;

constexpr EventCodec<Event> kCodec("text.said", "number.counted");

TEST(EventCodecTest, NamesEachAlternativeInTheVariantsOrder) {
  StringValue text;
  EXPECT_EQ(kCodec.TypeOf(Event(text)), "text.said");
  EXPECT_EQ(kCodec.TypeOf(Event(Int64Value())), "number.counted");
  EXPECT_STREQ(kCodec.NameOf<Int64Value>(), "number.counted");
  EXPECT_THAT(kCodec.Names(),
              ::testing::ElementsAre("text.said", "number.counted"));
}

TEST(EventCodecTest, ReadsBackWhatItWrote) {
  Int64Value number;
  number.set_value(42);
  const Event written(number);
  absl::StatusOr<Event> read =
      kCodec.FromJson(kCodec.TypeOf(written), kCodec.ToJson(written));
  ASSERT_TRUE(read.ok()) << read.status();
  ASSERT_TRUE(std::holds_alternative<Int64Value>(*read));
  EXPECT_EQ(std::get<Int64Value>(*read).value(), 42);
}

TEST(EventCodecTest, RefusesAnUnknownTypeAndBadJson) {
  absl::StatusOr<Event> unknown = kCodec.FromJson("text.shouted", "{}");
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(unknown.status().message(), ::testing::HasSubstr("text.shouted"));
  EXPECT_FALSE(kCodec.FromJson("number.counted", "{not json").ok());
}

}  // namespace
}  // namespace shop
