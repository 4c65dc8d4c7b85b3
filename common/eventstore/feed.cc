// Owns the feed's reader thread, its LISTEN connection and the window.
#include "common/eventstore/feed.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/errors/errors.h"
#include "common/logging/log.h"
#include "common/util/work_queue.h"
#include "pqxx/pqxx"

namespace eventstore {
namespace {

constexpr int kLivePage = 1000;
constexpr absl::Duration kReconnectEvery = absl::Seconds(1);

int64_t SizeOf(const RecordedEvent& event) {
  return static_cast<int64_t>(
      sizeof(RecordedEvent) + event.stream_id.size() + event.event_id.size() +
      event.type.size() + event.data_json.size() + event.metadata_json.size());
}

int PollTimeoutMs(absl::Duration wait) {
  if (wait == absl::InfiniteDuration()) return -1;
  return static_cast<int>(std::clamp<int64_t>(
      absl::ToInt64Milliseconds(absl::Ceil(wait, absl::Milliseconds(1))), 0,
      60'000));
}

}  // namespace

// Receives other replicas' announcements: the payload is the transaction
// id whose events they committed.
class Feed::Listener final : public pqxx::notification_receiver {
 public:
  Listener(pqxx::connection& connection, const std::string& channel,
           uint64_t* notified)
      : pqxx::notification_receiver(connection, channel), notified_(notified) {}

  void operator()(const std::string& payload, int) override {
    uint64_t xid = 0;
    if (absl::SimpleAtoi(payload, &xid)) *notified_ = std::max(*notified_, xid);
  }

 private:
  uint64_t* notified_;
};

Feed::Feed(EventStore* store, FeedOptions options)
    : store_(store),
      options_(std::move(options)),
      channel_(store->schema()),
      wake_fd_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)),
      catch_up_(std::make_unique<shop::WorkQueue>(
          std::max(options_.catch_up_threads, 1))) {
  store_->SetCommitObserver(
      [this](uint64_t transaction_id) { NoteCommitted(transaction_id); });
}

Feed::~Feed() {
  Close();
  stopping_ = true;
  Signal();
  if (reader_.joinable()) reader_.join();
  catch_up_.reset();
  store_->SetCommitObserver(nullptr);
  if (wake_fd_ >= 0) close(wake_fd_);
}

absl::Status Feed::Start() {
  if (wake_fd_ < 0) {
    return absl::InternalError(absl::StrCat("eventfd: errno ", errno));
  }
  absl::StatusOr<GlobalPosition> end = store_->ReadAllEnd();
  if (!end.ok()) return end.status();
  {
    absl::MutexLock lock(&window_mu_);
    base_ = head_ = *end;
  }
  reader_ = std::thread([this] { Run(); });
  return absl::OkStatus();
}

void Feed::Close() {
  if (closed_.exchange(true)) return;
  WakeSubscribers();
}

bool Feed::closed() const { return closed_.load(); }

absl::Status Feed::Attach(Subscriber* subscriber) {
  absl::MutexLock lock(&subscribers_mu_);
  if (closed_) {
    return shop::MakeError(absl::StatusCode::kUnavailable, "shop",
                           "SHUTTING_DOWN",
                           "the server is shutting down: resume elsewhere");
  }
  if (static_cast<int>(subscribers_.size() - internal_.size()) >=
      options_.max_subscribers) {
    return shop::MakeError(
        absl::StatusCode::kResourceExhausted, "shop", "TOO_MANY_SUBSCRIBERS",
        absl::StrCat("this server already serves ", options_.max_subscribers,
                     " subscriptions, its limit: retry later or elsewhere"),
        {{"limit", absl::StrCat(options_.max_subscribers)}});
  }
  subscribers_.insert(subscriber);
  return absl::OkStatus();
}

void Feed::AttachInternal(Subscriber* subscriber) {
  absl::MutexLock lock(&subscribers_mu_);
  subscribers_.insert(subscriber);
  internal_.insert(subscriber);
}

void Feed::Detach(Subscriber* subscriber) {
  absl::MutexLock lock(&subscribers_mu_);
  subscribers_.erase(subscriber);
  internal_.erase(subscriber);
}

Feed::Page Feed::Next(GlobalPosition after, int max_count) const {
  Page page;
  absl::ReaderMutexLock lock(&window_mu_);
  if (after < base_) {
    page.behind = true;
    return page;
  }
  auto it = std::upper_bound(
      window_.begin() + static_cast<ptrdiff_t>(first_), window_.end(), after,
      [](const GlobalPosition& position, const SharedEvent& event) {
        return position < event->position;
      });
  const size_t count = std::min<size_t>(static_cast<size_t>(window_.end() - it),
                                        static_cast<size_t>(max_count));
  page.events.assign(it, it + static_cast<ptrdiff_t>(count));
  return page;
}

GlobalPosition Feed::head() const {
  absl::ReaderMutexLock lock(&window_mu_);
  return head_;
}

void Feed::ReadBehind(
    GlobalPosition after, int max_count,
    absl::AnyInvocable<void(absl::StatusOr<std::vector<RecordedEvent>>) &&>
        done) {
  catch_up_->Schedule(
      [this, after, max_count, done = std::move(done)]() mutable {
        ++catch_up_reads_;
        std::move(done)(store_->ReadAll(after, max_count));
      });
}

void Feed::ReadHorizon(
    absl::AnyInvocable<void(absl::StatusOr<CommitHorizon>) &&> done) {
  catch_up_->Schedule([this, done = std::move(done)]() mutable {
    std::move(done)(store_->ReadHorizon());
  });
}

FeedStats Feed::stats() const {
  FeedStats stats;
  stats.live_reads = live_reads_;
  stats.catch_up_reads = catch_up_reads_;
  stats.wakeups = wakeups_;
  stats.events = events_read_;
  absl::MutexLock lock(&subscribers_mu_);
  stats.subscribers = static_cast<int>(subscribers_.size() - internal_.size());
  return stats;
}

bool Feed::AwaitHead(GlobalPosition position, absl::Duration timeout) const {
  absl::MutexLock lock(&window_mu_);
  auto reached = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(window_mu_) {
    return head_ >= position;
  };
  return window_mu_.AwaitWithTimeout(absl::Condition(&reached), timeout);
}

void Feed::NoteCommitted(uint64_t transaction_id) {
  uint64_t known = local_xid_.load(std::memory_order_relaxed);
  while (known < transaction_id &&
         !local_xid_.compare_exchange_weak(known, transaction_id,
                                           std::memory_order_release)) {
  }
  Signal();
}

void Feed::Signal() {
  // One write per wake-up, however many commits it covers.
  if (signaled_.exchange(true)) return;
  const uint64_t one = 1;
  (void)!write(wake_fd_, &one, sizeof(one));
}

void Feed::WakeSubscribers() {
  absl::MutexLock lock(&subscribers_mu_);
  for (Subscriber* subscriber : subscribers_) subscriber->Wake();
}

bool Feed::ReadLive() {
  for (;;) {
    const GlobalPosition from = head();
    ++live_reads_;
    absl::StatusOr<std::vector<RecordedEvent>> events =
        store_->ReadAll(from, kLivePage);
    if (!events.ok()) {
      // Retries run every few milliseconds; one line per interval says it.
      if (absl::Now() - warned_at_ < kReconnectEvery * 10) return false;
      warned_at_ = absl::Now();
      shop::LogJson("warn", absl::StrCat("feed: reading the store: ",
                                         events.status().ToString()));
      return false;
    }
    if (!events->empty()) {
      events_read_ += static_cast<int64_t>(events->size());
      absl::MutexLock lock(&window_mu_);
      for (RecordedEvent& event : *events) {
        bytes_ += SizeOf(event);
        head_ = event.position;
        window_.push_back(
            std::make_shared<const RecordedEvent>(std::move(event)));
      }
      while (
          window_.size() - first_ > 1 &&
          (static_cast<int>(window_.size() - first_) > options_.window_events ||
           bytes_ > options_.window_bytes)) {
        base_ = window_[first_]->position;
        bytes_ -= SizeOf(*window_[first_]);
        window_[first_].reset();
        ++first_;
      }
      if (first_ > 1024 && first_ > window_.size() / 2) {
        window_.erase(window_.begin(),
                      window_.begin() + static_cast<ptrdiff_t>(first_));
        first_ = 0;
      }
    }
    if (!events->empty()) WakeSubscribers();
    if (static_cast<int>(events->size()) == kLivePage) continue;
    return head().transaction_id >= KnownCommitted();
  }
}

void Feed::Run() {
  std::unique_ptr<pqxx::connection> connection;
  std::unique_ptr<Listener> listener;
  auto drop = [&](const std::exception& e) {
    shop::LogJson("warn", absl::StrCat("feed: LISTEN connection lost, "
                                       "reconnecting: ",
                                       e.what()));
    listener.reset();
    connection.reset();
  };
  absl::Time next_connect = absl::InfinitePast();
  absl::Time next_tick = absl::Now() + options_.tick;
  absl::Duration retry = absl::ZeroDuration();
  absl::Time retry_at = absl::InfiniteFuture();
  // Reading once at start and after each reconnection covers the
  // announcements that could not arrive meanwhile.
  bool read_now = true;
  while (!stopping_) {
    const absl::Time now = absl::Now();
    if (connection == nullptr && now >= next_connect) {
      next_connect = now + kReconnectEvery;
      try {
        connection = std::make_unique<pqxx::connection>(
            WithConnectionBounds(options_.dsn, PoolOptions{}));
        // Announcements wait for no WAL flush: they carry no data.
        pqxx::nontransaction(*connection).exec("SET synchronous_commit = off");
        listener =
            std::make_unique<Listener>(*connection, channel_, &notified_xid_);
        read_now = true;
      } catch (const std::exception& e) {
        drop(e);
      }
    }
    if (read_now || now >= retry_at ||
        KnownCommitted() > head().transaction_id) {
      read_now = false;
      ++wakeups_;
      if (ReadLive()) {
        retry = absl::ZeroDuration();
        retry_at = absl::InfiniteFuture();
      } else {
        retry =
            std::clamp(retry * 2, absl::Milliseconds(1), options_.max_retry);
        retry_at = absl::Now() + retry;
      }
    }
    const uint64_t local = local_xid_.load(std::memory_order_acquire);
    if (connection != nullptr && local > announced_xid_) {
      try {
        pqxx::nontransaction(*connection)
            .exec_params("SELECT pg_notify($1, $2)", channel_,
                         absl::StrCat(local));
        announced_xid_ = local;
      } catch (const std::exception& e) {
        drop(e);
      }
    }

    absl::Time wake_at = std::min(retry_at, next_tick);
    if (connection == nullptr) wake_at = std::min(wake_at, next_connect);
    pollfd fds[2] = {{wake_fd_, POLLIN, 0}, {-1, POLLIN, 0}};
    if (connection != nullptr) fds[1].fd = connection->sock();
    poll(fds, 2, PollTimeoutMs(wake_at - absl::Now()));
    uint64_t count = 0;
    (void)!read(wake_fd_, &count, sizeof(count));
    // After draining: a commit from here on writes the descriptor again.
    signaled_ = false;
    if (connection != nullptr) {
      try {
        connection->get_notifs();
      } catch (const std::exception& e) {
        drop(e);
      }
    }
    if (absl::Now() >= next_tick) {
      WakeSubscribers();
      next_tick = absl::Now() + options_.tick;
    }
  }
}

}  // namespace eventstore
