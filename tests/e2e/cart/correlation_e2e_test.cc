// One correlation id tells a cart's story in both services: the cart's
// events and the inventory events its calls caused, each with the cart's
// request as its cause.
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/cart_harness.h"
#include "tests/support/inventory_harness.h"
#include "tests/support/status_matchers.h"

namespace cart {
namespace {

using ::shop::testing::CartHarness;
using ::shop::testing::InventoryHarness;
using ::shop::testing::IsOk;
using ::shop::testing::TestSchema;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

// A call's context with the headers an order's caller sends.
void Identify(grpc::ClientContext* context, const std::string& correlation_id,
              const std::string& request_id) {
  context->AddMetadata("x-correlation-id", correlation_id);
  context->AddMetadata("x-request-id", request_id);
}

class CorrelationE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    inventory_ = std::make_unique<InventoryHarness>(inventory_schema_.name());
    cart_ = std::make_unique<CartHarness>(cart_schema_.name(),
                                          inventory_->address());
    inventory::v1::AddProductRequest request;
    request.set_product_id("shoe");
    request.set_name("Shoe");
    request.set_price_cents(500);
    request.set_initial_quantity(10);
    inventory::v1::AddProductResponse response;
    grpc::ClientContext context;
    ASSERT_THAT(inventory_->stub().AddProduct(&context, request, &response),
                IsOk());
  }

  // A cart "c-{suffix}" with two shoes, checked out, every call carrying
  // `correlation_id`.
  void BuyShoes(const std::string& correlation_id, const std::string& suffix) {
    const std::string cart_id = "c-" + suffix;
    {
      v1::CreateCartRequest request;
      request.set_cart_id(cart_id);
      request.set_customer_id("alice");
      v1::CreateCartResponse response;
      grpc::ClientContext context;
      Identify(&context, correlation_id, "req-create-" + suffix);
      ASSERT_THAT(cart_->stub().CreateCart(&context, request, &response),
                  IsOk());
    }
    {
      v1::AddItemRequest request;
      request.set_cart_id(cart_id);
      request.set_product_id("shoe");
      request.set_quantity(2);
      v1::AddItemResponse response;
      grpc::ClientContext context;
      Identify(&context, correlation_id, "req-add-" + suffix);
      ASSERT_THAT(cart_->stub().AddItem(&context, request, &response), IsOk());
    }
    {
      v1::CheckoutRequest request;
      request.set_cart_id(cart_id);
      v1::CheckoutResponse response;
      grpc::ClientContext context;
      Identify(&context, correlation_id, "req-checkout-" + suffix);
      ASSERT_THAT(cart_->stub().Checkout(&context, request, &response), IsOk());
    }
  }

  // Every event of `correlation_id` in one service, page by page (2 each).
  template <typename Stub, typename Request, typename Response>
  std::vector<
      typename std::decay_t<decltype(std::declval<Response>().events(0))>>
  ListAll(Stub& stub, const std::string& correlation_id) {
    std::vector<std::decay_t<decltype(std::declval<Response>().events(0))>> all;
    Request request;
    request.set_correlation_id(correlation_id);
    request.set_page_size(2);
    for (int pages = 0; pages < 20; ++pages) {
      Response response;
      grpc::ClientContext context;
      EXPECT_THAT(stub.ListEventsByCorrelation(&context, request, &response),
                  IsOk());
      all.insert(all.end(), response.events().begin(), response.events().end());
      if (response.next_page_token().empty()) break;
      request.set_page_token(response.next_page_token());
    }
    return all;
  }

  TestSchema inventory_schema_{"corr_inventory"};
  TestSchema cart_schema_{"corr_cart"};
  std::unique_ptr<InventoryHarness> inventory_;
  std::unique_ptr<CartHarness> cart_;
};

// AddItem and Checkout under correlation id X are listed by X on both
// services, in order; inventory's events name the cart's requests as their
// causes; another order's events stay out.
TEST_F(CorrelationE2eTest, OneCorrelationIdTellsTheStoryInBothServices) {
  BuyShoes("order-x", "1");
  BuyShoes("order-y", "2");

  auto cart_events =
      ListAll<v1::CartService::Stub, v1::ListEventsByCorrelationRequest,
              v1::ListEventsByCorrelationResponse>(cart_->stub(), "order-x");
  std::vector<std::string> cart_story;
  for (const auto& event : cart_events) {
    cart_story.push_back(absl::StrCat(event.stream_id(), " ", event.type()));
    EXPECT_THAT(event.metadata_json(), HasSubstr("order-x"));
  }
  ASSERT_GE(cart_story.size(), 3u);
  EXPECT_EQ(cart_story[0], "cart-c-1 cart.created");
  EXPECT_EQ(cart_story[1], "cart-c-1 item.added");
  EXPECT_THAT(cart_story, ::testing::Contains("cart-c-1 cart.checked_out"));
  EXPECT_THAT(cart_story, Not(::testing::Contains(HasSubstr("c-2"))));

  auto inventory_events =
      ListAll<inventory::v1::InventoryService::Stub,
              inventory::v1::ListEventsByCorrelationRequest,
              inventory::v1::ListEventsByCorrelationResponse>(
          inventory_->stub(), "order-x");
  std::vector<std::string> inventory_story;
  for (const auto& event : inventory_events) {
    inventory_story.push_back(
        absl::StrCat(event.stream_id(), " ", event.type()));
    EXPECT_THAT(event.metadata_json(), HasSubstr("order-x"));
  }
  EXPECT_THAT(inventory_story, ElementsAre("product-shoe stock.reserved",
                                           "product-shoe stock.committed"));
  ASSERT_EQ(inventory_events.size(), 2u);
  EXPECT_THAT(inventory_events[0].metadata_json(),
              HasSubstr("\"causationId\": \"req-add-1\""));
  EXPECT_THAT(inventory_events[1].metadata_json(),
              HasSubstr("\"causationId\": \"req-checkout-1\""));
}

}  // namespace
}  // namespace cart
