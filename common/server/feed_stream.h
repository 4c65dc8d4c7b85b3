#pragma once

// Subscribe, the same in both services: a server-streaming call that sends
// the feed's events after the caller's position, catch-up first, then live,
// one message in flight at a time (gRPC's flow control holds a slow reader,
// so the server keeps at most one message per subscriber).

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/eventstore/feed.h"
#include "common/eventstore/position_token.h"
#include "common/rpc/status_mapping.h"
#include "common/server/history.h"
#include "grpcpp/grpcpp.h"

namespace shop {

// The literal from_position that starts at the live end.
inline constexpr char kFeedEnd[] = "end";

// What one Subscribe call asked for, validated.
struct FeedFilter {
  eventstore::GlobalPosition after;
  bool from_end = false;
  absl::flat_hash_set<std::string> types;  // all when empty
  std::string stream_prefix;

  bool Keeps(const eventstore::RecordedEvent& event) const;
};

// The checks of a SubscribeRequest, as its three fields.
absl::StatusOr<FeedFilter> ParseFeedRequest(
    const std::string& from_position,
    const google::protobuf::RepeatedPtrField<std::string>& types,
    const std::string& stream_prefix);

struct FeedStreamOptions {
  // A message with no events is sent when nothing was sent for this long.
  absl::Duration checkpoint_interval = absl::Seconds(5);
  int max_events_per_message = 500;
  int64_t max_message_bytes = 1 << 20;
};

// One message's worth of the feed.
struct FeedBatch {
  std::vector<eventstore::SharedEvent> events;
  // Everything up to here was sent or filtered out: resume from it.
  eventstore::GlobalPosition position;
  // The first message past the history as it stood when the call began.
  bool caught_up = false;
};

// The subscription's cursor and its one-thing-at-a-time machine; a
// generated service's reactor (FeedReactor below) only writes messages.
class FeedStream : public eventstore::Feed::Subscriber {
 public:
  FeedStream(eventstore::Feed* feed, FeedFilter filter,
             FeedStreamOptions options);

  void Wake() override { Pump(); }

 protected:
  // Attaches to the feed and sends what there is; or ends with the refusal.
  void Begin();
  // The last Send has been written (ok) or the call is gone.
  void Sent(bool ok);
  void Cancelled();
  // Called with nothing in flight; the message must be written before
  // Sent is called.
  virtual void Send(FeedBatch batch) = 0;
  // Called once; the reactor finishes the call.
  virtual void End(const grpc::Status& status) = 0;
  eventstore::Feed* feed() { return feed_; }

 private:
  void Pump();
  void CaughtUpRead(absl::StatusOr<std::vector<eventstore::RecordedEvent>>);
  // Takes a message's worth of `pending_`, advancing position_.
  FeedBatch Take() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  eventstore::Feed* const feed_;
  const FeedFilter filter_;
  const FeedStreamOptions options_;

  absl::Mutex mu_;
  eventstore::GlobalPosition position_ ABSL_GUARDED_BY(mu_);
  // Fetched, not yet taken into a message.
  std::vector<eventstore::SharedEvent> pending_ ABSL_GUARDED_BY(mu_);
  size_t next_ ABSL_GUARDED_BY(mu_) = 0;
  // pending_ came from the window and reached its end.
  bool at_window_end_ ABSL_GUARDED_BY(mu_) = false;
  bool caught_up_ ABSL_GUARDED_BY(mu_) = false;
  // The last event committed when the call began: caught up once past it.
  eventstore::GlobalPosition caught_up_at_ ABSL_GUARDED_BY(mu_);
  // From "end": the history when the call began, none of which is sent.
  std::optional<eventstore::CommitHorizon> before_ ABSL_GUARDED_BY(mu_);
  // A write or a store read is in flight.
  bool busy_ ABSL_GUARDED_BY(mu_) = false;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  bool ended_ ABSL_GUARDED_BY(mu_) = false;
  absl::Time last_sent_ ABSL_GUARDED_BY(mu_);
};

// The reactor of a generated service's Subscribe. Response has
// `repeated RecordedEvent events`, `string position` and `bool caught_up`.
template <typename Response>
class FeedReactor final : public grpc::ServerWriteReactor<Response>,
                          public FeedStream {
 public:
  // Deletes itself when the call is done.
  static grpc::ServerWriteReactor<Response>* Start(
      eventstore::Feed* feed, absl::StatusOr<FeedFilter> filter,
      FeedStreamOptions options) {
    if (!filter.ok()) return new Refused(ToGrpcStatus(filter.status()));
    auto* reactor = new FeedReactor(feed, *std::move(filter), options);
    reactor->Begin();
    return reactor;
  }

  void OnWriteDone(bool ok) override { Sent(ok); }
  void OnCancel() override { Cancelled(); }
  void OnDone() override {
    feed()->Detach(this);
    delete this;
  }

 private:
  class Refused final : public grpc::ServerWriteReactor<Response> {
   public:
    explicit Refused(const grpc::Status& status) { this->Finish(status); }
    void OnDone() override { delete this; }
  };

  FeedReactor(eventstore::Feed* feed, FeedFilter filter,
              FeedStreamOptions options)
      : FeedStream(feed, std::move(filter), options) {}

  void Send(FeedBatch batch) override {
    message_.Clear();
    for (const eventstore::SharedEvent& event : batch.events) {
      auto* out = message_.add_events();
      FillEvent(*event, out);
      out->set_position(eventstore::EncodePositionToken(event->position));
    }
    message_.set_position(eventstore::EncodePositionToken(batch.position));
    message_.set_caught_up(batch.caught_up);
    this->StartWrite(&message_);
  }
  void End(const grpc::Status& status) override { this->Finish(status); }

  Response message_;
};

}  // namespace shop
