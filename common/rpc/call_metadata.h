#pragma once

#include <string>
#include <vector>

#include "common/eventstore/event_store.h"
#include "grpcpp/grpcpp.h"

namespace shop {

// Who may speak for others. Over mutual TLS a call's events record the
// peer its certificate names as caused_by; the end user it claims in
// x-caused-by is recorded, as on_behalf_of, only from the peers listed.
struct IdentityPolicy {
  std::vector<std::string> delegating_peers;
};

// Who/why for the events a call appends, from its request headers:
// x-request-id (a new UUID when absent), x-correlation-id (defaults to the
// request id), x-causation-id, and who caused it. Over mutual TLS that is
// the authenticated peer (with x-caused-by as on_behalf_of if `policy`
// lets it speak for others); without, x-caused-by as claimed, else the
// caller's address.
eventstore::Metadata MetadataFromCall(const grpc::ServerContextBase& context,
                                      const IdentityPolicy& policy = {});

// The call's deadline, if it has one (gRPC's "none" is far in the future).
std::optional<absl::Time> DeadlineOf(const grpc::ServerContextBase& context);

// The command context of a call: its metadata, its deadline and, when the
// request has one, its expected_version.
template <typename Request>
eventstore::CommandContext ContextOf(const grpc::ServerContextBase& context,
                                     const Request& request,
                                     const IdentityPolicy& policy = {}) {
  eventstore::CommandContext command;
  command.metadata = MetadataFromCall(context, policy);
  command.deadline = DeadlineOf(context);
  if (request.has_expected_version()) {
    command.expected_version = request.expected_version();
  }
  return command;
}

// The identity headers a write stores in its events, bounded as ids are:
// INVALID_ARGUMENT naming the header and the limit, before anything runs.
// PERMISSION_DENIED when an authenticated peer `policy` does not list
// claims to act for someone in x-caused-by.
absl::Status ValidateCallHeaders(const grpc::ServerContextBase& context,
                                 const IdentityPolicy& policy = {});

// Passes the call's identity on to an outgoing call it causes: the end
// user it acted for, else its own caller, travels as x-caused-by.
void PropagateCallMetadata(const eventstore::Metadata& metadata,
                           grpc::ClientContext* context);

}  // namespace shop
