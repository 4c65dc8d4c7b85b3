#include "common/util/proto_json.h"

#include <string>

#include "cart/v1/events.pb.h"
#include "gmock/gmock.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "inventory/v1/events.pb.h"

namespace shop {
namespace {

using google::protobuf::Message;

// What protobuf's own printer writes with every field printed.
std::string ProtobufJson(const Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.always_print_primitive_fields = true;
  std::string json;
  EXPECT_TRUE(
      google::protobuf::util::MessageToJsonString(message, &json, options)
          .ok());
  return json;
}

// The same JSON value, whatever the order of an object's keys: PostgreSQL
// stores events as jsonb, where key order is not kept.
testing::AssertionResult SameJson(const std::string& ours,
                                  const std::string& theirs) {
  google::protobuf::Value a, b;
  if (!google::protobuf::util::JsonStringToMessage(ours, &a).ok()) {
    return testing::AssertionFailure() << "not JSON: " << ours;
  }
  if (!google::protobuf::util::JsonStringToMessage(theirs, &b).ok()) {
    return testing::AssertionFailure() << "not JSON: " << theirs;
  }
  if (google::protobuf::util::MessageDifferencer::Equals(a, b)) {
    return testing::AssertionSuccess();
  }
  return testing::AssertionFailure() << ours << "\n  vs protobuf's\n" << theirs;
}

google::protobuf::Timestamp At(int64_t seconds, int32_t nanos) {
  google::protobuf::Timestamp t;
  t.set_seconds(seconds);
  t.set_nanos(nanos);
  return t;
}

// The fast writer prints the JSON value protobuf prints, for every shape of
// value the events hold: zeros, negatives, extremes, escapes, timestamps.
TEST(ProtoJsonTest, EventsMatchProtobufsPrinter) {
  std::vector<std::unique_ptr<Message>> messages;
  inventory::v1::ProductAdded added;
  messages.push_back(std::make_unique<inventory::v1::ProductAdded>(added));
  added.set_name(R"(Sneakers "Air" \ 42)");
  added.set_price_cents(-1);
  added.set_quantity(INT64_MAX);
  messages.push_back(std::make_unique<inventory::v1::ProductAdded>(added));
  for (int32_t nanos : {0, 5000000, 123456000, 123456789, 999999999}) {
    for (int64_t seconds :
         {0LL, 1800000000LL, -62135596800LL, 253402300799LL}) {
      inventory::v1::StockReserved reserved;
      reserved.set_quantity(3);
      reserved.set_reservation_id("r-1");
      *reserved.mutable_expires_at() = At(seconds, nanos);
      messages.push_back(
          std::make_unique<inventory::v1::StockReserved>(reserved));
    }
  }
  inventory::v1::StockReserved no_expiry;
  no_expiry.set_reservation_id("r-2");
  messages.push_back(std::make_unique<inventory::v1::StockReserved>(no_expiry));
  cart::v1::ItemAdded item;
  item.set_product_id("p");
  item.set_quantity(INT64_MIN);
  item.set_unit_price_cents(1250);
  messages.push_back(std::make_unique<cart::v1::ItemAdded>(item));
  cart::v1::CartSnapshot cart;
  cart.set_customer_id("c");
  cart.add_lines()->set_product_id("a");
  cart.add_lines()->set_quantity(2);
  cart.set_checked_out(true);
  messages.push_back(std::make_unique<cart::v1::CartSnapshot>(cart));
  messages.push_back(std::make_unique<cart::v1::CartSnapshot>());

  for (const auto& message : messages) {
    EXPECT_TRUE(SameJson(ToJson(*message), ProtobufJson(*message)))
        << message->ShortDebugString();
  }
}

// Text protobuf escapes in its own way still comes out as protobuf's.
TEST(ProtoJsonTest, OtherTextIsLeftToProtobuf) {
  for (const std::string& name :
       {std::string("<b>"), std::string("caf\xc3\xa9"), std::string("a\nb"),
        std::string("\x01"), std::string("\xe2\x80\xa8")}) {
    inventory::v1::ProductAdded added;
    added.set_name(name);
    EXPECT_EQ(ToJson(added), ProtobufJson(added)) << name;
  }
  google::protobuf::Struct other;
  (*other.mutable_fields())["k"].set_number_value(1.5);
  EXPECT_EQ(ToJson(other), ProtobufJson(other));
}

// Maps print in their own order; the JSON reads back to the same message.
TEST(ProtoJsonTest, SnapshotMapsRoundTrip) {
  inventory::v1::ProductSnapshot snapshot;
  snapshot.set_name("x");
  snapshot.set_on_hand(7);
  EXPECT_TRUE(SameJson(ToJson(snapshot), ProtobufJson(snapshot)));
  auto& held = (*snapshot.mutable_reservations())["r-1"];
  held.set_quantity(2);
  *held.mutable_expires_at() = At(1800000000, 0);
  EXPECT_TRUE(SameJson(ToJson(snapshot), ProtobufJson(snapshot)));
  (*snapshot.mutable_reservations())["r-2"].set_quantity(1);
  inventory::v1::ProductSnapshot back;
  ASSERT_TRUE(FromJson(ToJson(snapshot), &back).ok());
  EXPECT_TRUE(
      google::protobuf::util::MessageDifferencer::Equals(back, snapshot));
}

// Any text becomes a JSON string PostgreSQL accepts.
TEST(ProtoJsonTest, AppendJsonStringEscapesAndRepairs) {
  auto json = [](absl::string_view text) {
    std::string out;
    AppendJsonString(text, &out);
    return out;
  };
  EXPECT_EQ(json("plain"), R"("plain")");
  EXPECT_EQ(json("a\"b\\c"), R"("a\"b\\c")");
  EXPECT_EQ(json(std::string("\n\x01\x7f", 3)), R"("\u000a\u0001\u007f")");
  EXPECT_EQ(json("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"),
            "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"");
  // Stray continuation, truncated sequence, overlong form, surrogate.
  EXPECT_EQ(json("\x80"), R"("\ufffd")");
  EXPECT_EQ(json("a\xc3"), R"("a\ufffd")");
  EXPECT_EQ(json("\xc0\xaf"), R"("\ufffd\ufffd")");
  EXPECT_EQ(json("\xed\xa0\x80"), R"("\ufffd\ufffd\ufffd")");
}

}  // namespace
}  // namespace shop
