#include "services/cart/api/console_api.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/server/history.h"

namespace cart {
namespace {

using shop::console::ErrorResponse;
using shop::console::HttpRequest;
using shop::console::HttpResponse;
using shop::console::Unary;

HttpResponse CorrelationOf(CartServiceImpl* carts, InventoryEvents* inventory,
                           const HttpRequest& http) {
  v1::ListEventsByCorrelationRequest request;
  if (absl::Status parsed = shop::console::ParseQueryInto(http, &request);
      !parsed.ok()) {
    return ErrorResponse(parsed);
  }
  if (!request.page_token().empty()) {
    return ErrorResponse(
        shop::InvalidField("page_token",
                           "is not taken here: one answer holds both services' "
                           "first pages"));
  }
  // The largest page of each: a correlation spans one order's events.
  request.set_page_size(shop::kMaxHistoryPage);
  grpc::ServerContext context;
  v1::ListEventsByCorrelationResponse cart_page;
  if (grpc::Status status =
          carts->ListEventsByCorrelation(&context, &request, &cart_page);
      !status.ok()) {
    return ErrorResponse(shop::FromGrpcStatus(status));
  }
  inventory::v1::ListEventsByCorrelationRequest asked;
  asked.set_correlation_id(request.correlation_id());
  asked.set_page_size(shop::kMaxHistoryPage);
  absl::StatusOr<inventory::v1::ListEventsByCorrelationResponse>
      inventory_page = inventory->ListByCorrelation(asked);
  if (!inventory_page.ok()) return ErrorResponse(inventory_page.status());
  std::vector<shop::console::TaggedEvent> events;
  shop::console::TagEvents("cart", cart_page, &events);
  shop::console::TagEvents("inventory", *inventory_page, &events);
  const bool truncated = !cart_page.next_page_token().empty() ||
                         !inventory_page->next_page_token().empty();
  return {200, "application/json; charset=utf-8",
          shop::console::TaggedEventsJson(std::move(events), "", truncated)};
}

// Inventory's feed relayed: its Subscribe as the cart's channel sees it.
HttpResponse InventoryLive(InventoryEvents* inventory,
                           const HttpRequest& http) {
  // Checked here as inventory checks it, so a bad filter is a 400.
  absl::StatusOr<shop::FeedFilter> filter = shop::console::LiveFilterOf(http);
  if (!filter.ok()) return ErrorResponse(filter.status());
  inventory::v1::SubscribeRequest request;
  request.set_from_position(shop::console::LiveFromPosition(http));
  for (const std::string& type : http.Params("types")) request.add_types(type);
  request.set_stream_prefix(http.Param("stream_prefix"));
  HttpResponse response{200, "text/event-stream; charset=utf-8", ""};
  response.stream = [inventory, request](shop::metrics::HttpStream& out) {
    const absl::Status ended = inventory->Follow(
        request, [&out](const inventory::v1::SubscribeResponse& message) {
          return out.Write(absl::StrCat("id: ", message.position(), "\ndata: ",
                                        shop::ToJson(message), "\n\n"));
        });
    if (!ended.ok()) {
      out.Write(absl::StrCat("event: end\ndata: ", ErrorResponse(ended).body,
                             "\n\n"));
    }
  };
  return response;
}

}  // namespace

shop::console::Routes ConsoleApi(CartServiceImpl* carts,
                                 OrderServiceImpl* orders,
                                 eventstore::Feed* feed,
                                 InventoryEvents* inventory) {
  const std::string cart_methods = "/api/cart.v1.CartService/";
  const std::string order_methods = "/api/cart.v1.OrderService/";
  shop::console::Handler cart_live =
      shop::console::Live<v1::SubscribeResponse>(feed);
  return {
      {cart_methods + "GetCart", Unary(carts, &CartServiceImpl::GetCart)},
      {cart_methods + "ListCartEvents",
       Unary(carts, &CartServiceImpl::ListCartEvents)},
      {cart_methods + "ListEventsByCorrelation",
       Unary(carts, &CartServiceImpl::ListEventsByCorrelation)},
      {cart_methods + "ListCarts", Unary(carts, &CartServiceImpl::ListCarts)},
      {cart_methods + "GetSalesByDay",
       Unary(carts, &CartServiceImpl::GetSalesByDay)},
      {order_methods + "GetOrder", Unary(orders, &OrderServiceImpl::GetOrder)},
      {order_methods + "ListOrders",
       Unary(orders, &OrderServiceImpl::ListOrders)},
      {"/api/correlation",
       [carts, inventory](const HttpRequest& http) {
         return CorrelationOf(carts, inventory, http);
       }},
      {"/api/live",
       [cart_live, inventory](const HttpRequest& http) {
         const std::string service = http.Param("service");
         if (service == "inventory") return InventoryLive(inventory, http);
         if (service.empty() || service == "cart") {
           // The relay reads only its own parameters.
           return cart_live(http);
         }
         return ErrorResponse(
             shop::InvalidField("service", "must be cart or inventory"));
       }},
  };
}

}  // namespace cart
