#include "common/server/server_flags.h"

#include <algorithm>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/ascii.h"
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

ABSL_FLAG(std::string, tls_cert_file, "",
          "PEM certificate chain of the gRPC port; empty: plaintext");
ABSL_FLAG(std::string, tls_key_file, "", "PEM private key of --tls_cert_file");
ABSL_FLAG(std::string, tls_client_ca_file, "",
          "PEM CA whose client certificates are required (mutual TLS); the "
          "certificate's identity is recorded as the cause of the events");
ABSL_FLAG(std::vector<std::string>, delegating_peers, {},
          "client certificate identities (comma-separated) whose x-caused-by "
          "is recorded as the end user they act for (on_behalf_of)");
ABSL_FLAG(std::string, console_listen, "admin",
          "the operator's console (read-only): `admin` serves it on the "
          "admin port (--metrics_listen), `off` nowhere, host:port on a "
          "port of its own (the Kubernetes manifests keep it on loopback, "
          "reached through kubectl port-forward)");

namespace shop {

std::vector<FlagRule> TlsFlagRules(const TlsFiles& files,
                                   const TlsFlagNames& names, bool server) {
  std::vector<FlagRule> rules;
  for (TlsFileProblem& problem : TlsFileProblems(files, names, server)) {
    rules.push_back({problem.flag, false, std::move(problem.allowed)});
  }
  return rules;
}

ServerFlags ReadServerFlags() {
  const int pool_size = absl::GetFlag(FLAGS_pool_size);
  const TlsFiles tls = {.cert_file = absl::GetFlag(FLAGS_tls_cert_file),
                        .key_file = absl::GetFlag(FLAGS_tls_key_file),
                        .ca_file = absl::GetFlag(FLAGS_tls_client_ca_file)};
  std::vector<FlagRule> rules = {
      InRange("pool_size", pool_size, 1, 1000),
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
              100'000)};
  for (FlagRule& rule : TlsFlagRules(tls,
                                     {.cert_file = "tls_cert_file",
                                     .key_file = "tls_key_file",
                                     .ca_file = "tls_client_ca_file"},
                                     /*server=*/true)) {
    rules.push_back(std::move(rule));
  }
  std::vector<std::string> delegating_peers;
  for (const std::string& peer : absl::GetFlag(FLAGS_delegating_peers)) {
    const absl::string_view name = absl::StripAsciiWhitespace(peer);
    if (!name.empty()) delegating_peers.emplace_back(name);
  }
  // Without client certificates no peer is known, so none may delegate.
  const std::string console = absl::GetFlag(FLAGS_console_listen);
  rules.push_back({"console_listen",
                   console == "admin" || console == "off" ||
                       console.find(':') != std::string::npos,
                   "admin, off or host:port"});
  rules.push_back({"delegating_peers",
                   delegating_peers.empty() || !tls.ca_file.empty(),
                   "empty unless --tls_client_ca_file is set"});
  EnforceFlagRules(rules);
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
      .max_subscribers = absl::GetFlag(FLAGS_max_subscribers),
      .tls = tls,
      .identity = {.delegating_peers = delegating_peers},
      .console_listen = absl::GetFlag(FLAGS_console_listen)};
}

}  // namespace shop
