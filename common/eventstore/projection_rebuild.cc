// Owns the rebuild of a read model: scratch tables built from the first
// event, caught up, and swapped in with the checkpoint in one transaction.
#include "common/eventstore/projection_rebuild.h"

#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "common/logging/log.h"

namespace eventstore {
namespace {

// Applies `model` to the events after `*position` until a page comes back
// short or passes `until`, each page in its own transaction, or all in `tx`
// when given.
absl::Status CatchUp(EventStore& store, Connection& connection,
                     ProjectionModel& model, int page, pqxx::work* tx,
                     std::optional<GlobalPosition> until,
                     GlobalPosition* position, int64_t* applied) {
  while (!until.has_value() || *position < *until) {
    absl::StatusOr<std::vector<RecordedEvent>> events =
        store.ReadAll(*position, page);
    if (!events.ok()) return events.status();
    if (events->empty()) return absl::OkStatus();
    if (tx != nullptr) {
      if (absl::Status status = model.Apply(*tx, *events); !status.ok()) {
        return status;
      }
    } else {
      pqxx::work own(connection.raw());
      if (absl::Status status = model.Apply(own, *events); !status.ok()) {
        return status;
      }
      own.commit();
    }
    *position = events->back().position;
    *applied += static_cast<int64_t>(events->size());
    if (static_cast<int>(events->size()) < page) return absl::OkStatus();
  }
  return absl::OkStatus();
}

// Rounds of catching up outside the swap, each to where history ended when
// it began, while they shrink: the swap then applies the little that is
// left while the leader waits.
constexpr int kRounds = 5;

}  // namespace

absl::StatusOr<GlobalPosition> RebuildProjection(
    ConnectionPool& owner, EventStore& store, const RebuildableModel& model,
    const RebuildOptions& options) {
  const std::string& schema = store.schema();
  const std::string scratch = absl::StrCat(schema, "_rebuild");
  if (!IsValidSchemaName(scratch)) {
    return absl::InvalidArgumentError(
        absl::StrCat("schema ", schema, " is too long to rebuild beside"));
  }
  std::unique_ptr<ProjectionModel> rebuilt = model.make(scratch);
  GlobalPosition position;
  int64_t applied = 0;
  absl::Status status = owner.Run([&](Connection& connection) -> absl::Status {
    {
      pqxx::work tx(connection.raw());
      // Made once beside the schema, as the schema is: its owner need not
      // create schemas in the database.
      if (tx.exec_params("SELECT 1 FROM pg_namespace WHERE nspname = $1",
                         scratch)
              .empty()) {
        return absl::FailedPreconditionError(absl::StrCat(
            "schema ", scratch, " is missing: create it once, as for ", schema,
            ": CREATE SCHEMA ", scratch, " AUTHORIZATION <owner of ", schema,
            ">"));
      }
      // What an earlier, interrupted rebuild left goes first.
      for (const std::string& table : model.tables) {
        tx.exec(absl::StrCat("DROP TABLE IF EXISTS ", scratch, ".", table));
      }
      for (const Migration& migration : model.migrations) {
        tx.exec(absl::StrReplaceAll(migration.sql, {{"{schema}", scratch}}));
      }
      tx.exec_params(absl::StrCat("INSERT INTO ", schema,
                                  ".projections (name) VALUES ($1) ON "
                                  "CONFLICT DO NOTHING"),
                     model.name);
      tx.commit();
    }
    for (int round = 0; round < kRounds; ++round) {
      absl::StatusOr<GlobalPosition> end = store.ReadAllEnd();
      if (!end.ok()) return end.status();
      const int64_t before = applied;
      if (absl::Status caught =
              CatchUp(store, connection, *rebuilt, options.page, nullptr, *end,
                      &position, &applied);
          !caught.ok()) {
        return caught;
      }
      if (applied - before < options.page) break;
    }
    shop::LogJson("info", absl::StrCat("projection ", model.name, ": rebuilt ",
                                       applied, " events; swapping it in"));
    pqxx::work tx(connection.raw());
    // The leader moves the checkpoint before it touches the rows: taken in
    // the same order, neither waits for the other in a circle.
    tx.exec_params(absl::StrCat("SELECT 1 FROM ", schema,
                                ".projections WHERE name = $1 FOR UPDATE"),
                   model.name);
    std::vector<std::string> live;
    for (const std::string& table : model.tables) {
      live.push_back(absl::StrCat(schema, ".", table));
    }
    tx.exec(absl::StrCat("LOCK TABLE ", absl::StrJoin(live, ", "),
                         " IN ACCESS EXCLUSIVE MODE"));
    // Bounded: events of transactions that began after this one wait for
    // its commit (ReadAll's order is commit-safe), and the leader's turn.
    if (absl::Status caught = CatchUp(store, connection, *rebuilt, options.page,
                                      &tx, std::nullopt, &position, &applied);
        !caught.ok()) {
      return caught;
    }
    tx.exec(absl::StrCat("DROP TABLE ", absl::StrJoin(live, ", ")));
    for (const std::string& table : model.tables) {
      tx.exec(absl::StrCat("ALTER TABLE ", scratch, ".", table, " SET SCHEMA ",
                           schema));
    }
    tx.exec_params(
        absl::StrCat("UPDATE ", schema,
                     ".projections SET transaction_id = $2::text::xid8, "
                     "position = $3, error = NULL, updated_at = now() "
                     "WHERE name = $1"),
        model.name, absl::StrCat(position.transaction_id), position.position);
    if (!options.serving_role.empty()) {
      tx.exec(absl::StrReplaceAll(
          ServingGrants(),
          {{"{schema}", schema}, {"{serving_role}", options.serving_role}}));
    }
    tx.commit();
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  shop::LogJson("info",
                absl::StrCat("projection ", model.name, ": rebuilt from ",
                             applied, " events and swapped in"));
  return position;
}

}  // namespace eventstore
