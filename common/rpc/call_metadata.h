#pragma once

#include "common/eventstore/event_store.h"
#include "grpcpp/grpcpp.h"

namespace shop {

// Who/why for the events a call appends, from its request headers:
// x-request-id (a new UUID when absent), x-correlation-id (defaults to the
// request id),
// x-causation-id, and x-caused-by (defaults to the caller's address).
eventstore::Metadata MetadataFromCall(const grpc::ServerContextBase& context);

// The call's deadline, if it has one (gRPC's "none" is far in the future).
std::optional<absl::Time> DeadlineOf(const grpc::ServerContextBase& context);

// The command context of a call: its metadata, its deadline and, when the
// request has one, its expected_version.
template <typename Request>
eventstore::CommandContext ContextOf(const grpc::ServerContextBase& context,
                                     const Request& request) {
  eventstore::CommandContext command;
  command.metadata = MetadataFromCall(context);
  command.deadline = DeadlineOf(context);
  if (request.has_expected_version()) {
    command.expected_version = request.expected_version();
  }
  return command;
}

// The identity headers a write stores in its events, bounded as ids are:
// INVALID_ARGUMENT naming the header and the limit, before anything runs.
absl::Status ValidateCallHeaders(const grpc::ServerContextBase& context);

// Passes the call's identity on to an outgoing call it causes.
void PropagateCallMetadata(const eventstore::Metadata& metadata,
                           grpc::ClientContext* context);

}  // namespace shop
