#pragma once

#include "absl/time/time.h"
#include "common/eventstore/event_store.h"
#include "common/rpc/call_metadata.h"
#include "common/rpc/tls.h"
#include "common/server/flags.h"

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
  // The gRPC port's certificate, key and client CA (mutual TLS when set).
  TlsFiles tls;
  IdentityPolicy identity;
  std::string console_listen;  // "admin", "off" or host:port
};

// Their values, once ParseFlagsWithEnvironment has run; exits 2 naming
// every flag that breaks a rule.
ServerFlags ReadServerFlags();

// The rules TLS files given as the flags `names` break (see
// TlsFileProblems), none when they will do.
std::vector<FlagRule> TlsFlagRules(const TlsFiles& files,
                                   const TlsFlagNames& names, bool server);

}  // namespace shop
