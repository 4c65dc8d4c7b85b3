#pragma once

// Rebuilding a read model from the first event while the service keeps
// serving the old one: the rows are built in a scratch schema, then swapped
// in for the live tables in one transaction that also moves the checkpoint.

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/eventstore/connection_pool.h"
#include "common/eventstore/event_store.h"
#include "common/eventstore/migrations.h"
#include "common/eventstore/projection.h"

namespace eventstore {

// What a rebuild must know of a projection's read model.
struct RebuildableModel {
  std::string name;  // the projection's
  // Its tables, unqualified: they are replaced whole.
  std::vector<std::string> tables;
  // The migrations that create them, `{schema}` for where.
  std::vector<Migration> migrations;
  // The model, writing its rows into `rows_schema`.
  std::function<std::unique_ptr<ProjectionModel>(
      const std::string& rows_schema)>
      make;
};

struct RebuildOptions {
  int page = 500;
  // Granted what serving needs on the new tables; empty: nobody.
  std::string serving_role;
};

// Builds `model` anew from `store`'s first event into `{schema}_rebuild`
// (a schema of the same owner, made once beside `{schema}`),
// then, holding the projection's checkpoint row (so its leader, on any
// replica, waits), applies what came meanwhile, replaces the live tables
// with the new ones, moves the checkpoint there and clears a stall, all in
// one transaction. The leader goes on from the new checkpoint; queries read
// the old rows until the swap and the new ones after it. Needs the
// schema's owner on `owner`. Returns the position the new rows reflect.
absl::StatusOr<GlobalPosition> RebuildProjection(ConnectionPool& owner,
                                                 EventStore& store,
                                                 const RebuildableModel& model,
                                                 const RebuildOptions& options);

}  // namespace eventstore
