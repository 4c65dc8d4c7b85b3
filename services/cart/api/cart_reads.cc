// Owns the cart's forensic read handler: one correlation id's events.
#include "common/rpc/status_mapping.h"
#include "common/server/feed_stream.h"
#include "common/server/history.h"
#include "services/cart/api/cart_service.h"

namespace cart {

absl::Status Validate(const v1::ListEventsByCorrelationRequest& request) {
  return shop::ValidateCorrelationRequest(request);
}

grpc::Status CartServiceImpl::ListEventsByCorrelation(
    grpc::ServerContext* /*context*/,
    const v1::ListEventsByCorrelationRequest* request,
    v1::ListEventsByCorrelationResponse* response) {
  if (absl::Status valid = Validate(*request); !valid.ok()) {
    return shop::ToGrpcStatus(valid);
  }
  const int page = shop::PageSizeOf(*request);
  absl::StatusOr<std::vector<eventstore::RecordedEvent>> events =
      history_->ListByCorrelation(request->correlation_id(),
                                  shop::PageStartOf(*request), page);
  if (!events.ok()) return shop::ToGrpcStatus(events.status());
  shop::FillCorrelationPage(*events, page, response);
  return grpc::Status::OK;
}

grpc::ServerWriteReactor<v1::SubscribeResponse>* CartServiceImpl::Subscribe(
    grpc::CallbackServerContext*, const v1::SubscribeRequest* request) {
  return shop::FeedReactor<v1::SubscribeResponse>::Start(
      feed_,
      shop::ParseFeedRequest(request->from_position(), request->types(),
                             request->stream_prefix()),
      {});
}

}  // namespace cart
