// Owns a projection's loop (lead, read, apply, checkpoint) and the SQL of
// its checkpoint row and leadership lock.
#include "common/eventstore/projection.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/errors/errors.h"
#include "common/eventstore/connection_pool.h"
#include "common/eventstore/position_token.h"
#include "common/logging/log.h"

namespace eventstore {
namespace {

// Errors a later attempt may not meet: the event is not to blame.
bool Transient(const absl::Status& status) {
  return status.code() == absl::StatusCode::kUnavailable ||
         status.code() == absl::StatusCode::kAborted ||
         status.code() == absl::StatusCode::kDeadlineExceeded;
}

GlobalPosition PositionOf(const pqxx::row& row, int first) {
  return {row[first].as<uint64_t>(), row[first + 1].as<int64_t>()};
}

// The key of a projection's session advisory lock.
std::string LockKey(const std::string& schema, const std::string& name) {
  return absl::StrCat("shop-projection:", schema, ".", name);
}

}  // namespace

absl::string_view ProjectionStateName(ProjectionState state) {
  switch (state) {
    case ProjectionState::kStarting:
      return "starting";
    case ProjectionState::kFollowing:
      return "following";
    case ProjectionState::kLeading:
      return "leading";
    case ProjectionState::kStalled:
      return "stalled";
    case ProjectionState::kStopped:
      return "stopped";
  }
  return "unknown";
}

Projection::Projection(std::string name, ProjectionModel* model,
                       EventStore* store, Feed* feed, ProjectionOptions options)
    : name_(std::move(name)),
      model_(model),
      store_(store),
      feed_(feed),
      options_(std::move(options)),
      lock_key_(LockKey(store->schema(), name_)),
      applied_(shop::metrics::Default().GetCounter(
          "shop_projection_events_total",
          "Events a projection applied on this replica.",
          {{"schema", store->schema()}, {"projection", name_}})) {
  for (ProjectionState state :
       {ProjectionState::kStarting, ProjectionState::kFollowing,
        ProjectionState::kLeading, ProjectionState::kStalled,
        ProjectionState::kStopped}) {
    state_gauges_.push_back(shop::metrics::Default().GetGauge(
        "shop_projection_state",
        "1 for a projection's state on this replica (stalled: an event "
        "failed and nothing moves).",
        {{"schema", store->schema()},
         {"projection", name_},
         {"state", std::string(ProjectionStateName(state))}}));
  }
  absl::MutexLock lock(&mu_);
  status_.name = name_;
  PublishState();
}

void Projection::PublishState() {
  for (size_t i = 0; i < state_gauges_.size(); ++i) {
    state_gauges_[i]->Set(static_cast<size_t>(status_.state) == i ? 1 : 0);
  }
}

Projection::~Projection() { Stop(); }

void Projection::Start() {
  feed_->AttachInternal(this);
  attached_ = true;
  thread_ = std::thread([this] { Run(); });
}

void Projection::Stop() {
  {
    absl::MutexLock lock(&mu_);
    if (stopping_ && !thread_.joinable()) return;
    stopping_ = true;
  }
  if (attached_) {
    feed_->Detach(this);
    attached_ = false;
  }
  if (thread_.joinable()) thread_.join();
  SetState(ProjectionState::kStopped);
}

ProjectionStatus Projection::status() const {
  absl::MutexLock lock(&mu_);
  return status_;
}

bool Projection::AwaitApplied(GlobalPosition position,
                              absl::Duration timeout) const {
  absl::MutexLock lock(&mu_);
  auto applied = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return status_.position >= position;
  };
  return mu_.AwaitWithTimeout(absl::Condition(&applied), timeout);
}

void Projection::Wake() {
  absl::MutexLock lock(&mu_);
  woken_ = true;
}

void Projection::SetState(ProjectionState state) {
  absl::MutexLock lock(&mu_);
  status_.state = state;
  PublishState();
}

void Projection::Pause(absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  auto go = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return woken_ || stopping_;
  };
  mu_.AwaitWithTimeout(absl::Condition(&go), timeout);
  woken_ = false;
}

void Projection::Run() {
  absl::Time warned_at = absl::InfinitePast();
  auto warn = [&](absl::string_view what) {
    // A database that stays away would log every retry: once a minute.
    if (absl::Now() - warned_at < absl::Minutes(1)) return;
    warned_at = absl::Now();
    shop::LogJson("warn", absl::StrCat("projection ", name_, ": ", what));
  };
  for (;;) {
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) return;
    }
    std::unique_ptr<pqxx::connection> connection;
    try {
      connection = std::make_unique<pqxx::connection>(
          WithConnectionBounds(options_.dsn, PoolOptions{}));
      pqxx::nontransaction tx(*connection);
      if (!tx.exec_params1("SELECT pg_try_advisory_lock(hashtextextended($1, "
                           "0))",
                           lock_key_)[0]
               .as<bool>()) {
        SetState(ProjectionState::kFollowing);
        connection.reset();
        Pause(options_.retry);
        continue;
      }
      tx.exec_params(absl::StrCat("INSERT INTO ", store_->schema(),
                                  ".projections (name) VALUES ($1) ON "
                                  "CONFLICT DO NOTHING"),
                     name_);
    } catch (const std::exception& e) {
      SetState(ProjectionState::kStarting);
      warn(StatusFromException(e).ToString());
      Pause(options_.retry);
      continue;
    }
    shop::LogJson("info", absl::StrCat("projection ", name_, ": leading"));
    checkpoint_.reset();
    while (Lead(*connection)) {
    }
    // The session ends with the connection, and the lock with it.
  }
}

bool Projection::Lead(pqxx::connection& connection) {
  // Read when the lead begins and after anything but an applied page: in
  // between, only this replica moves it (and ApplyPage checks that).
  if (!checkpoint_.has_value()) {
    try {
      pqxx::nontransaction tx(connection);
      const pqxx::row row = tx.exec_params1(
          absl::StrCat("SELECT transaction_id::text AS xid, position, error "
                       "FROM ",
                       store_->schema(), ".projections WHERE name = $1"),
          name_);
      checkpoint_ = PositionOf(row, 0);
      absl::MutexLock lock(&mu_);
      status_.position = *checkpoint_;
      if (!row[2].is_null()) {
        status_.state = ProjectionState::kStalled;
        status_.error = row[2].c_str();
      } else {
        status_.state = ProjectionState::kLeading;
        status_.error.clear();
      }
      PublishState();
    } catch (const std::exception& e) {
      shop::LogJson("warn", absl::StrCat("projection ", name_, ": ",
                                         StatusFromException(e).ToString()));
      Pause(options_.retry);
      return false;
    }
  }
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return false;
    if (status_.state == ProjectionState::kStalled) {
      // Cleared by hand (its row's error set to NULL): look again now and
      // then.
      checkpoint_.reset();
      mu_.AwaitWithTimeout(absl::Condition(&stopping_), options_.retry);
      return !stopping_;
    }
  }

  const GlobalPosition checkpoint = *checkpoint_;
  const int page = checkpoint < narrow_until_ ? 1 : options_.page;
  std::vector<RecordedEvent> events;
  Feed::Page live = feed_->Next(checkpoint, page);
  if (live.behind) {
    absl::StatusOr<std::vector<RecordedEvent>> read =
        store_->ReadAll(checkpoint, page);
    if (!read.ok()) {
      Pause(options_.retry);
      return true;
    }
    events = *std::move(read);
  } else {
    events.reserve(live.events.size());
    for (const SharedEvent& event : live.events) events.push_back(*event);
  }
  if (events.empty()) {
    Pause(options_.retry);
    return true;
  }

  const absl::Status applied = ApplyPage(connection, checkpoint, events);
  if (applied.ok()) {
    checkpoint_ = events.back().position;
    applied_->Increment(static_cast<int64_t>(events.size()));
    absl::MutexLock lock(&mu_);
    status_.position = events.back().position;
    if (static_cast<int>(events.size()) < page) {
      mu_.AwaitWithTimeout(absl::Condition(&stopping_), options_.linger);
    }
    return true;
  }
  checkpoint_.reset();
  if (!connection.is_open()) return false;
  if (Transient(applied)) {
    shop::LogJson("warn", absl::StrCat("projection ", name_, ": ",
                                       applied.ToString(), "; retrying"));
    Pause(options_.retry);
    return true;
  }
  if (events.size() > 1) {
    narrow_until_ = events.back().position;
    return true;
  }
  Stall(connection, events.front(), applied);
  return true;
}

absl::Status Projection::ApplyPage(pqxx::connection& connection,
                                   GlobalPosition checkpoint,
                                   absl::Span<const RecordedEvent> events) {
  try {
    pqxx::work tx(connection);
    // Moved first: the row lock orders this page after any other writer
    // of the checkpoint, and a checkpoint that moved meanwhile refuses it.
    const GlobalPosition& last = events.back().position;
    const pqxx::result moved = tx.exec_params(
        absl::StrCat("UPDATE ", store_->schema(),
                     ".projections SET transaction_id = $2::text::xid8, "
                     "position = $3, updated_at = now() WHERE name = $1 AND "
                     "error IS NULL AND transaction_id = $4::text::xid8 AND "
                     "position = $5"),
        name_, absl::StrCat(last.transaction_id), last.position,
        absl::StrCat(checkpoint.transaction_id), checkpoint.position);
    if (moved.affected_rows() != 1) {
      return absl::AbortedError("the checkpoint moved meanwhile");
    }
    absl::Status status = model_->Apply(tx, events);
    if (!status.ok()) return status;
    tx.commit();
    return absl::OkStatus();
  } catch (const std::exception& e) {
    return StatusFromException(e);
  }
}

void Projection::Stall(pqxx::connection& connection, const RecordedEvent& event,
                       const absl::Status& error) {
  const std::string reason = absl::StrCat(
      "event ", event.event_id, " (", event.type, ", ", event.stream_id,
      " version ", event.version, "): ", error.ToString());
  shop::LogJson("error",
                absl::StrCat("projection ", name_, ": stalled at ", reason));
  try {
    pqxx::nontransaction tx(connection);
    tx.exec_params(absl::StrCat("UPDATE ", store_->schema(),
                                ".projections SET error = $2, updated_at = "
                                "now() WHERE name = $1"),
                   name_, reason);
  } catch (const std::exception& e) {
    // Not recorded: the next leader meets the same event and stalls too.
    shop::LogJson("warn", absl::StrCat("projection ", name_, ": ",
                                       StatusFromException(e).ToString()));
  }
  absl::MutexLock lock(&mu_);
  status_.state = ProjectionState::kStalled;
  status_.error = reason;
  PublishState();
}

GlobalPosition BeginModelRead(pqxx::transaction_base& tx,
                              const std::string& schema,
                              const std::string& name,
                              const std::vector<std::string>& tables) {
  std::vector<std::string> qualified;
  for (const std::string& table : tables) {
    qualified.push_back(absl::StrCat(schema, ".", table));
  }
  tx.exec(absl::StrCat("LOCK TABLE ", absl::StrJoin(qualified, ", "),
                       " IN ACCESS SHARE MODE"));
  return ReadCheckpoint(tx, schema, name);
}

GlobalPosition ReadCheckpoint(pqxx::transaction_base& tx,
                              const std::string& schema,
                              const std::string& name) {
  const pqxx::result row = tx.exec_params(
      absl::StrCat("SELECT transaction_id::text AS xid, position FROM ", schema,
                   ".projections WHERE name = $1"),
      name);
  return row.empty() ? GlobalPosition{} : PositionOf(row[0], 0);
}

absl::StatusOr<std::vector<ProjectionRow>> ReadProjections(
    ConnectionPool& pool, const std::string& schema) {
  std::vector<ProjectionRow> rows;
  absl::Status status = pool.Run([&](Connection& connection) {
    pqxx::nontransaction tx(connection.raw());
    const pqxx::result result = tx.exec(
        absl::StrCat("SELECT name, transaction_id::text, position, "
                     "extract(epoch FROM updated_at)::float8, error FROM ",
                     schema, ".projections ORDER BY name"));
    for (const pqxx::row& row : result) {
      ProjectionRow out;
      out.name = row[0].c_str();
      out.position = PositionOf(row, 1);
      out.updated_at =
          absl::FromUnixMicros(static_cast<int64_t>(row[3].as<double>() * 1e6));
      if (!row[4].is_null()) out.error = row[4].c_str();
      out.behind =
          tx.exec_params1(
                absl::StrCat("SELECT count(*) FROM ", schema,
                             ".events WHERE (transaction_id, position) > "
                             "($1::text::xid8, $2::bigint)"),
                absl::StrCat(out.position.transaction_id),
                out.position.position)[0]
              .as<int64_t>();
      // Taken at once only when no replica holds it; given back at once.
      const bool free =
          tx.exec_params1(
                "SELECT pg_try_advisory_lock(hashtextextended($1, 0))",
                LockKey(schema, out.name))[0]
              .as<bool>();
      if (free) {
        tx.exec_params("SELECT pg_advisory_unlock(hashtextextended($1, 0))",
                       LockKey(schema, out.name));
      }
      out.led = !free;
      rows.push_back(std::move(out));
    }
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return rows;
}

absl::Status AwaitProjection(ConnectionPool& pool, const std::string& schema,
                             const std::string& name, GlobalPosition position,
                             absl::Time deadline) {
  absl::Duration pause = absl::Milliseconds(2);
  for (;;) {
    GlobalPosition applied;
    std::string error;
    int64_t behind = 0;
    absl::Status read = pool.Run([&](Connection& connection) {
      pqxx::nontransaction tx(connection.raw());
      const pqxx::result row = tx.exec_params(
          absl::StrCat("SELECT transaction_id::text, position, error FROM ",
                       schema, ".projections WHERE name = $1"),
          name);
      if (!row.empty()) {
        applied = PositionOf(row[0], 0);
        if (!row[0][2].is_null()) error = row[0][2].c_str();
      }
      if (applied < position && absl::Now() + pause >= deadline) {
        behind =
            tx.exec_params1(
                  absl::StrCat("SELECT count(*) FROM ", schema,
                               ".events WHERE (transaction_id, position) "
                               "> ($1::text::xid8, $2::bigint) AND "
                               "(transaction_id, position) <= "
                               "($3::text::xid8, $4::bigint)"),
                  absl::StrCat(applied.transaction_id), applied.position,
                  absl::StrCat(position.transaction_id), position.position)[0]
                .as<int64_t>();
      }
      return absl::OkStatus();
    });
    if (!read.ok()) return read;
    if (applied >= position) return absl::OkStatus();
    if (!error.empty()) {
      return shop::MakeError(
          absl::StatusCode::kUnavailable, "shop", "PROJECTION_STALLED",
          absl::StrCat("read model ", name, " is stalled: ", error),
          {{"projection", name}});
    }
    if (absl::Now() + pause >= deadline) {
      return shop::MakeError(
          absl::StatusCode::kUnavailable, "shop", "PROJECTION_BEHIND",
          absl::StrCat("read model ", name, " is ", behind,
                       " events behind min_position: retry later"),
          {{"projection", name},
           {"behind", absl::StrCat(behind)},
           {"position", EncodePositionToken(applied)}});
    }
    absl::SleepFor(pause);
    pause = std::min(pause * 2, absl::Milliseconds(50));
  }
}

}  // namespace eventstore
