#include "common/server/server_flags.h"

#include <algorithm>

#include "absl/flags/flag.h"
#include "common/server/flags.h"

ABSL_FLAG(int, pool_size, 8, "database connections at most");
ABSL_FLAG(int, append_batch, 64,
          "most appends to different streams written as one statement "
          "(group commit); 1 writes each alone");
ABSL_FLAG(int, append_batches_in_flight, 1,
          "merged statements written at once; appends queue behind them");
ABSL_FLAG(int, shutdown_grace_seconds, 20,
          "time calls in flight get to finish after SIGTERM");
ABSL_FLAG(int, startup_timeout_seconds, 60,
          "how long start-up waits for the database");
ABSL_FLAG(bool, access_log, true, "log one JSON line per call");
ABSL_FLAG(int, max_subscribers, 500,
          "Subscribe calls served at once; more are RESOURCE_EXHAUSTED");
ABSL_FLAG(int, write_stall_seconds, 5,
          "readiness turns NOT_SERVING while a write has waited this long, "
          "or for as long after a write timed out with none through since");
ABSL_FLAG(int, write_timeout_ms, 3000,
          "an append statement still running after this is cancelled and its "
          "callers answered UNAVAILABLE; its connection is cut a second later");

namespace shop {

ServerFlags ReadServerFlags() {
  const int pool_size = absl::GetFlag(FLAGS_pool_size);
  EnforceFlagRules(
      {InRange("pool_size", pool_size, 1, 1000),
       InRange("append_batch", absl::GetFlag(FLAGS_append_batch), 1, 1000),
       InRange("append_batches_in_flight",
               absl::GetFlag(FLAGS_append_batches_in_flight), 1,
               std::max(pool_size, 1)),
       InRange("shutdown_grace_seconds",
               absl::GetFlag(FLAGS_shutdown_grace_seconds), 0, 3600),
       InRange("startup_timeout_seconds",
               absl::GetFlag(FLAGS_startup_timeout_seconds), 1, 3600),
       InRange("write_stall_seconds", absl::GetFlag(FLAGS_write_stall_seconds),
               1, 600),
       InRange("write_timeout_ms", absl::GetFlag(FLAGS_write_timeout_ms), 10,
               600'000),
       InRange("max_subscribers", absl::GetFlag(FLAGS_max_subscribers), 0,
               100'000)});
  return {
      .pool_size = absl::GetFlag(FLAGS_pool_size),
      .store = {.max_batch = absl::GetFlag(FLAGS_append_batch),
                .max_in_flight = absl::GetFlag(FLAGS_append_batches_in_flight),
                .write_timeout =
                    absl::Milliseconds(absl::GetFlag(FLAGS_write_timeout_ms))},
      .startup_timeout =
          absl::Seconds(absl::GetFlag(FLAGS_startup_timeout_seconds)),
      .shutdown_grace =
          absl::Seconds(absl::GetFlag(FLAGS_shutdown_grace_seconds)),
      .access_log = absl::GetFlag(FLAGS_access_log),
      .write_stall = absl::Seconds(absl::GetFlag(FLAGS_write_stall_seconds)),
      .max_subscribers = absl::GetFlag(FLAGS_max_subscribers)};
}

}  // namespace shop
