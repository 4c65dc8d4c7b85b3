#include "common/server/feed_stream.h"

#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/errors/errors.h"
#include "common/server/validation.h"

namespace shop {
namespace {

constexpr int kMaxTypes = 32;
constexpr size_t kMaxTypeBytes = 128;
constexpr size_t kMaxPrefixBytes = 200;

int64_t MessageBytesOf(const eventstore::RecordedEvent& event) {
  // The payloads and ids, plus room for the token and the timestamp.
  return static_cast<int64_t>(
      event.data_json.size() + event.metadata_json.size() +
      event.stream_id.size() + event.type.size() + event.event_id.size() + 64);
}

}  // namespace

bool FeedFilter::Keeps(const eventstore::RecordedEvent& event) const {
  return absl::StartsWith(event.stream_id, stream_prefix) &&
         (types.empty() || types.contains(event.type));
}

absl::StatusOr<FeedFilter> ParseFeedRequest(
    const std::string& from_position,
    const google::protobuf::RepeatedPtrField<std::string>& types,
    const std::string& stream_prefix) {
  FeedFilter filter;
  if (from_position == kFeedEnd) {
    filter.from_end = true;
  } else if (!from_position.empty()) {
    absl::StatusOr<eventstore::GlobalPosition> after =
        eventstore::ParsePositionToken(from_position, "from_position");
    if (!after.ok()) {
      return InvalidField("from_position",
                          "must be empty (the first event), \"end\" (what is "
                          "appended from now on) or a position this service "
                          "returned");
    }
    filter.after = *after;
  }
  if (types.size() > kMaxTypes) {
    return InvalidField(
        "types", absl::StrCat("holds at most ", kMaxTypes, " event types, got ",
                              types.size()));
  }
  for (const std::string& type : types) {
    if (absl::Status valid = ValidateText("types", type, 1, kMaxTypeBytes);
        !valid.ok()) {
      return valid;
    }
    filter.types.insert(type);
  }
  if (absl::Status valid =
          ValidateText("stream_prefix", stream_prefix, 0, kMaxPrefixBytes);
      !valid.ok()) {
    return valid;
  }
  filter.stream_prefix = stream_prefix;
  return filter;
}

FeedStream::FeedStream(eventstore::Feed* feed, FeedFilter filter,
                       FeedStreamOptions options)
    : feed_(feed),
      filter_(std::move(filter)),
      options_(options),
      position_(filter_.after),
      last_sent_(absl::Now()) {}

void FeedStream::Begin() {
  if (absl::Status attached = feed_->Attach(this); !attached.ok()) {
    {
      absl::MutexLock lock(&mu_);
      ended_ = true;
    }
    End(ToGrpcStatus(attached));
    return;
  }
  {
    absl::MutexLock lock(&mu_);
    busy_ = true;
  }
  // Where the history stands now: what "end" means, and where the catch-up
  // ends (the reader's head may lag a commit acknowledged a moment ago).
  feed_->ReadHorizon([this](absl::StatusOr<eventstore::CommitHorizon> now) {
    {
      absl::MutexLock lock(&mu_);
      busy_ = false;
      if (now.ok()) {
        caught_up_at_ = now->last;
        if (filter_.from_end) {
          position_ = now->safe;
          before_ = *now;
        }
      } else {
        ended_ = true;
      }
    }
    if (now.ok()) {
      Pump();
    } else {
      End(ToGrpcStatus(now.status()));
    }
  });
}

void FeedStream::Sent(bool ok) {
  {
    absl::MutexLock lock(&mu_);
    busy_ = false;
    // A write that failed: the caller is gone.
    if (!ok) cancelled_ = true;
  }
  Pump();
}

void FeedStream::Cancelled() {
  {
    absl::MutexLock lock(&mu_);
    cancelled_ = true;
  }
  Pump();
}

void FeedStream::Pump() {
  std::optional<grpc::Status> end;
  std::optional<FeedBatch> send;
  std::optional<eventstore::GlobalPosition> read_after;
  {
    absl::MutexLock lock(&mu_);
    if (busy_ || ended_) return;
    if (cancelled_) {
      end = grpc::Status(grpc::StatusCode::CANCELLED, "the caller went away");
    } else if (feed_->closed()) {
      end = ToGrpcStatus(MakeError(
          absl::StatusCode::kUnavailable, "shop", "SHUTTING_DOWN",
          absl::StrCat("the server is shutting down: subscribe again from "
                       "position ",
                       eventstore::EncodePositionToken(position_)),
          {{"position", eventstore::EncodePositionToken(position_)}}));
    } else {
      // Events filtered out send nothing: go on until there is a message,
      // a store read to wait for, or nothing more in the window.
      while (!send.has_value() && !read_after.has_value()) {
        if (next_ == pending_.size()) {
          eventstore::Feed::Page page =
              feed_->Next(position_, options_.max_events_per_message);
          if (page.behind) {
            read_after = position_;
            break;
          }
          at_window_end_ = static_cast<int>(page.events.size()) <
                           options_.max_events_per_message;
          pending_ = std::move(page.events);
          next_ = 0;
        }
        FeedBatch batch = Take();
        const absl::Time now = absl::Now();
        batch.caught_up = !caught_up_ && position_ >= caught_up_at_;
        if (!batch.events.empty() || batch.caught_up ||
            now - last_sent_ >= options_.checkpoint_interval) {
          caught_up_ = caught_up_ || batch.caught_up;
          last_sent_ = now;
          send = std::move(batch);
        } else if (at_window_end_ && next_ == pending_.size()) {
          break;
        }
      }
    }
    if (end.has_value()) {
      ended_ = true;
    } else if (send.has_value() || read_after.has_value()) {
      busy_ = true;
    }
  }
  if (end.has_value()) {
    End(*end);
  } else if (send.has_value()) {
    Send(*std::move(send));
  } else if (read_after.has_value()) {
    feed_->ReadBehind(
        *read_after, options_.max_events_per_message,
        [this](absl::StatusOr<std::vector<eventstore::RecordedEvent>> events) {
          CaughtUpRead(std::move(events));
        });
  }
}

void FeedStream::CaughtUpRead(
    absl::StatusOr<std::vector<eventstore::RecordedEvent>> events) {
  bool more = false;
  {
    absl::MutexLock lock(&mu_);
    busy_ = false;
    if (!events.ok()) {
      ended_ = true;
    } else {
      pending_.clear();
      next_ = 0;
      at_window_end_ = false;
      for (eventstore::RecordedEvent& event : *events) {
        pending_.push_back(std::make_shared<const eventstore::RecordedEvent>(
            std::move(event)));
      }
      // Nothing to read means nothing to do until the next wake-up.
      more = !pending_.empty();
    }
  }
  if (!events.ok()) {
    End(ToGrpcStatus(events.status()));
  } else if (more) {
    Pump();
  }
}

FeedBatch FeedStream::Take() {
  FeedBatch batch;
  int64_t bytes = 0;
  while (next_ < pending_.size() &&
         static_cast<int>(batch.events.size()) <
             options_.max_events_per_message &&
         bytes < options_.max_message_bytes) {
    const eventstore::SharedEvent& event = pending_[next_++];
    if (event->position <= position_) continue;
    position_ = event->position;
    if (!filter_.Keeps(*event)) continue;
    // From "end": what had committed when the call began is not sent, though
    // commit-safe order may bring some of it after the starting position.
    if (before_.has_value() && event->position <= before_->last &&
        before_->Committed(event->position.transaction_id)) {
      continue;
    }
    bytes += MessageBytesOf(*event);
    batch.events.push_back(event);
  }
  if (next_ == pending_.size()) {
    pending_.clear();
    next_ = 0;
  }
  batch.position = position_;
  return batch;
}

}  // namespace shop
