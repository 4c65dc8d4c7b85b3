#pragma once

#include "absl/time/time.h"
#include "common/eventstore/event_store.h"

namespace shop {

// The flags that mean the same in every server, defined once in
// server_flags.cc; each main defines its own address, database and schema.
struct ServerFlags {
  int pool_size = 0;
  eventstore::EventStoreOptions store;
  absl::Duration startup_timeout;
  absl::Duration shutdown_grace;
  bool access_log = true;
  absl::Duration write_stall;
  int max_subscribers = 0;
};

// Their values, once ParseFlagsWithEnvironment has run.
ServerFlags ReadServerFlags();

}  // namespace shop
