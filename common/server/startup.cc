#include "common/server/startup.h"

#include <thread>

#include "absl/strings/str_cat.h"
#include "common/server/periodic_task.h"

namespace shop {

absl::Status MigrateAtStartup(
    eventstore::ConnectionPool& pool, const std::string& schema,
    const std::vector<eventstore::Migration>& migrations,
    absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    absl::Status status = eventstore::Migrate(pool, schema, migrations);
    if (status.ok() || status.code() != absl::StatusCode::kUnavailable ||
        absl::Now() > deadline) {
      return status;
    }
    LogJson("warn",
            absl::StrCat("waiting for the database: ", status.message()));
    absl::SleepFor(absl::Seconds(1));
  }
}

void ServeUntilTerminated(Server& server) {
  // Detached: it may still wait in sigwait when the process exits.
  std::thread([&server] {
    AwaitTerminationSignal();
    server.Shutdown();
  }).detach();
  server.Wait();
  LogJson("info", "stopped");
}

}  // namespace shop
