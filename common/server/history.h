#pragma once

#include <vector>

#include "common/eventstore/event_store.h"
#include "common/eventstore/position_token.h"
#include "common/server/validation.h"
#include "common/util/proto_time.h"

namespace shop {

// Page size of the List*Events calls when the caller asks for none.
inline constexpr int kDefaultHistoryPage = 100;
inline constexpr int kMaxHistoryPage = 1000;

// Copies one page of stored events into a List*EventsResponse (both
// services' responses have the same shape) and, when the page is full,
// where the next page starts.
// One stored event as either service's RecordedEvent message.
template <typename Out>
void FillEvent(const eventstore::RecordedEvent& event, Out* out) {
  out->set_version(event.version);
  out->set_type(event.type);
  *out->mutable_recorded_at() = ToProto(event.recorded_at);
  out->set_data_json(event.data_json);
  out->set_metadata_json(event.metadata_json);
  out->set_event_id(event.event_id);
  out->set_stream_id(event.stream_id);
}

// The checks of either service's ListEventsByCorrelationRequest.
template <typename Request>
absl::Status ValidateCorrelationRequest(const Request& request) {
  absl::Status token = absl::OkStatus();
  if (!request.page_token().empty()) {
    token = eventstore::ParsePositionToken(request.page_token(), "page_token")
                .status();
  }
  return FirstError(
      {ValidateId("correlation_id", request.correlation_id()),
       ValidateRange("page_size", request.page_size(), 0, kMaxHistoryPage),
       token});
}

// Where a validated ListEventsByCorrelationRequest's page starts, and its
// size.
template <typename Request>
eventstore::GlobalPosition PageStartOf(const Request& request) {
  if (request.page_token().empty()) return {};
  absl::StatusOr<eventstore::GlobalPosition> after =
      eventstore::ParsePositionToken(request.page_token(), "page_token");
  return after.ok() ? *after : eventstore::GlobalPosition{};
}
template <typename Request>
int PageSizeOf(const Request& request) {
  return request.page_size() == 0 ? kDefaultHistoryPage : request.page_size();
}

// Copies one page of a read by correlation id into a
// ListEventsByCorrelationResponse and, when the page is full, the token of
// the next one.
template <typename Response>
void FillCorrelationPage(const std::vector<eventstore::RecordedEvent>& events,
                         int page_size, Response* response) {
  for (const eventstore::RecordedEvent& event : events) {
    auto* out = response->add_events();
    FillEvent(event, out);
    out->set_position(eventstore::EncodePositionToken(event.position));
  }
  if (static_cast<int>(events.size()) == page_size) {
    response->set_next_page_token(
        eventstore::EncodePositionToken(events.back().position));
  }
}

template <typename Response>
void FillHistory(const std::vector<eventstore::RecordedEvent>& events,
                 int page_size, Response* response) {
  for (const eventstore::RecordedEvent& event : events) {
    auto* out = response->add_events();
    out->set_version(event.version);
    out->set_type(event.type);
    *out->mutable_recorded_at() = ToProto(event.recorded_at);
    out->set_data_json(event.data_json);
    out->set_metadata_json(event.metadata_json);
    out->set_event_id(event.event_id);
  }
  if (static_cast<int>(events.size()) == page_size) {
    response->set_next_from_version(events.back().version + 1);
  }
}

}  // namespace shop
