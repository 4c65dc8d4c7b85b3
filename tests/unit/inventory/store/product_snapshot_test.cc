#include "services/inventory/store/product_snapshot.h"

#include <string>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "services/inventory/domain/commands.h"

namespace inventory {
namespace {

using ::testing::SizeIs;

const absl::Time kNow = absl::FromUnixSeconds(1'800'000'000);

template <typename C>
Product Apply(Product product, const C& command) {
  absl::StatusOr<std::vector<Event>> events =
      Decide("p", command, product, Facts{std::nullopt, kNow});
  EXPECT_TRUE(events.ok()) << events.status();
  if (!events.ok()) return product;
  for (const Event& event : *events) {
    product = Evolve(std::move(product), event);
  }
  return product;
}

bool SameJson(const std::string& a, const std::string& b) {
  google::protobuf::Value a_value;
  google::protobuf::Value b_value;
  EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(a, &a_value).ok());
  EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(b, &b_value).ok());
  return google::protobuf::util::MessageDifferencer::Equals(a_value, b_value);
}

// Every figure of every warehouse, for comparison.
std::vector<std::vector<int64_t>> Figures(const Product& product) {
  std::vector<std::vector<int64_t>> figures;
  for (const auto& [id, stock] : product.warehouses()) {
    figures.push_back({stock.on_hand, stock.reserved, stock.committed,
                       stock.incoming, stock.damaged, stock.available(),
                       stock.shortfall()});
  }
  return figures;
}

// A product in every kind of state: stock in three warehouses, a split
// reservation, orders committed, shipped, returned and cancelled, a
// transfer in transit, damaged units and a shortfall.
Product Busy() {
  Product product = Apply(Product{}, AddProductCommand{"Boots", 1999, 10});
  product = Apply(std::move(product), ReceiveStockCommand{"east", 4});
  product = Apply(std::move(product), ReceiveStockCommand{"west", 3});
  product = Apply(std::move(product),
                  ReserveStockCommand{12, "r-split", absl::Minutes(5), ""});
  product = Apply(std::move(product),
                  ReserveStockCommand{2, "r-sold", absl::Minutes(9), "east"});
  product =
      Apply(std::move(product), CommitReservationCommand{"r-sold", "o-1"});
  product = Apply(std::move(product), ShipStockCommand{"o-1", "s-1", 1});
  product = Apply(
      std::move(product),
      ReturnStockCommand{"o-1", "ret-1", "west", 1, v1::RETURN_REASON_DEFECTIVE,
                         v1::RETURN_CONDITION_DAMAGED});
  product = Apply(std::move(product), ReceiveStockCommand{"main", 5});
  product = Apply(std::move(product),
                  ReserveStockCommand{1, "r-gone", absl::Minutes(5), "main"});
  product =
      Apply(std::move(product), CommitReservationCommand{"r-gone", "o-2"});
  product = Apply(std::move(product), CancelCommitmentCommand{"o-2", "why"});
  product =
      Apply(std::move(product), TransferStockCommand{"t-1", "main", "west", 2});
  // main: 13 on hand after the transfer, 10 of them reserved: a count
  // finds 8.
  return Apply(std::move(product),
               AdjustStockCommand{"adj-1", "main", 8, std::nullopt,
                                  v1::ADJUSTMENT_REASON_THEFT, "",
                                  v1::STOCK_BUCKET_SELLABLE});
}

// The snapshot restores every figure, reservation, order and transfer.
TEST(ProductSnapshotTest, RoundTripKeepsTheWholeState) {
  const Product product = Busy();
  ASSERT_EQ(product.At("main").shortfall(), 2);
  ASSERT_EQ(product.At("west").incoming, 2);
  ASSERT_EQ(product.At("west").damaged, 1);
  absl::StatusOr<Product> back = FromSnapshot(SnapshotJson(product));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_TRUE(back->exists);
  EXPECT_EQ(back->name, "Boots");
  EXPECT_EQ(back->price_cents, 1999);
  EXPECT_EQ(Figures(*back), Figures(product));
  for (const std::string id : {"main", "east", "west"}) {
    EXPECT_EQ(back->At(id).on_hand, product.At(id).on_hand) << id;
    EXPECT_EQ(back->At(id).reserved, product.At(id).reserved) << id;
    EXPECT_EQ(back->At(id).committed, product.At(id).committed) << id;
    EXPECT_EQ(back->At(id).incoming, product.At(id).incoming) << id;
    EXPECT_EQ(back->At(id).damaged, product.At(id).damaged) << id;
  }
  ASSERT_THAT(back->reservations(), SizeIs(product.reservations().size()));
  for (const auto& [id, held] : product.reservations()) {
    const Reservation& restored = back->reservations().at(id);
    EXPECT_EQ(restored.quantity, held.quantity) << id;
    EXPECT_EQ(restored.expires_at, held.expires_at) << id;
    EXPECT_EQ(restored.lines, held.lines) << id;
  }
  EXPECT_EQ(back->by_expiry(), product.by_expiry());
  ASSERT_THAT(back->orders(), SizeIs(2));
  for (const auto& [id, order] : product.orders()) {
    const OrderStock& restored = back->orders().at(id);
    EXPECT_EQ(restored.committed, order.committed) << id;
    EXPECT_EQ(restored.shipped, order.shipped) << id;
    EXPECT_EQ(restored.returned, order.returned) << id;
    EXPECT_EQ(restored.cancelled, order.cancelled) << id;
  }
  ASSERT_THAT(back->transfers(), SizeIs(1));
  EXPECT_EQ(back->transfers().at("t-1").from_warehouse_id, "main");
  EXPECT_EQ(back->transfers().at("t-1").to_warehouse_id, "west");
  EXPECT_EQ(back->transfers().at("t-1").quantity, 2);
  // And it is the same state: a second round trip writes the same JSON
  // value (maps may list their keys in another order).
  EXPECT_TRUE(SameJson(SnapshotJson(*back), SnapshotJson(product)));
}

// The restored state decides as the original does: the transfer can be
// received and the order shipped.
TEST(ProductSnapshotTest, RestoredStateDecidesTheSame) {
  Product back = *FromSnapshot(SnapshotJson(Busy()));
  back = Apply(std::move(back), ReceiveTransferCommand{"t-1", 2});
  EXPECT_EQ(back.At("west").incoming, 0);
  EXPECT_EQ(back.At("west").on_hand, 5);
  back = Apply(std::move(back), ShipStockCommand{"o-1", "s-2", 1});
  EXPECT_EQ(back.At("east").committed, 0);
}

// A snapshot written before warehouses (only on_hand and reservations
// without lines) reads as warehouse main.
TEST(ProductSnapshotTest, SingleWarehouseSnapshotReadsAsMain) {
  const std::string old_json = R"json({
    "name": "Sneakers",
    "priceCents": "4999",
    "onHand": "7",
    "reservations": {
      "r-1": {"quantity": "2", "expiresAt": "2027-01-15T08:00:00Z"},
      "r-2": {"quantity": "1", "expiresAt": "2027-01-15T07:00:00Z"}
    }
  })json";
  absl::StatusOr<Product> product = FromSnapshot(old_json);
  ASSERT_TRUE(product.ok()) << product.status();
  EXPECT_EQ(product->name, "Sneakers");
  EXPECT_EQ(product->price_cents, 4999);
  ASSERT_THAT(product->warehouses(), SizeIs(1));
  const WarehouseStock main = product->At(kMainWarehouse);
  EXPECT_EQ(main.on_hand, 7);
  EXPECT_EQ(main.reserved, 3);
  EXPECT_EQ(main.available(), 4);
  EXPECT_EQ(product->reservations().at("r-1").lines,
            (Lines{{kMainWarehouse, 2}}));
  EXPECT_EQ(product->by_expiry().begin()->second, "r-2");
  // Releasing an old reservation gives its units back to main.
  Product released = Apply(*product, ReleaseStockCommand{"r-1"});
  EXPECT_EQ(released.At(kMainWarehouse).available(), 6);
}

// A snapshot that is not JSON of the message is an error, not a product.
TEST(ProductSnapshotTest, GarbageIsAnError) {
  EXPECT_FALSE(FromSnapshot("{\"onHand\": \"x\"}").ok());
  EXPECT_FALSE(FromSnapshot("not json").ok());
}

}  // namespace
}  // namespace inventory
