#include "common/rpc/call_metadata.h"

#include <string>

#include "absl/algorithm/container.h"
#include "absl/strings/str_cat.h"
#include "common/errors/errors.h"
#include "common/eventstore/uuid.h"
#include "common/rpc/tls.h"

namespace shop {
namespace {

std::string Header(const grpc::ServerContextBase& context, const char* key) {
  const auto& metadata = context.client_metadata();
  auto it = metadata.find(key);
  if (it == metadata.end()) return "";
  return std::string(it->second.data(), it->second.size());
}

bool MaySpeakForOthers(const std::string& peer, const IdentityPolicy& policy) {
  return absl::c_linear_search(policy.delegating_peers, peer);
}

}  // namespace

std::optional<absl::Time> DeadlineOf(const grpc::ServerContextBase& context) {
  const absl::Time deadline = absl::FromChrono(context.deadline());
  if (deadline > absl::Now() + absl::Hours(24 * 365)) return std::nullopt;
  return deadline;
}

eventstore::Metadata MetadataFromCall(const grpc::ServerContextBase& context,
                                      const IdentityPolicy& policy) {
  eventstore::Metadata metadata;
  metadata.request_id = Header(context, "x-request-id");
  // Every call gets an id, so the events it causes in both services share
  // a correlation id even when the caller sent none.
  if (metadata.request_id.empty()) metadata.request_id = eventstore::NewUuid();
  metadata.correlation_id = Header(context, "x-correlation-id");
  if (metadata.correlation_id.empty()) {
    metadata.correlation_id = metadata.request_id;
  }
  metadata.causation_id = Header(context, "x-causation-id");
  const std::string claimed = Header(context, "x-caused-by");
  const std::string peer = AuthenticatedPeer(context);
  if (peer.empty()) {
    metadata.caused_by = claimed.empty() ? context.peer() : claimed;
    return metadata;
  }
  metadata.caused_by = peer;
  if (MaySpeakForOthers(peer, policy)) metadata.on_behalf_of = claimed;
  return metadata;
}

absl::Status ValidateCallHeaders(const grpc::ServerContextBase& context,
                                 const IdentityPolicy& policy) {
  // Ids as request fields are bounded; who caused it may name a person.
  struct Bound {
    const char* header;
    size_t max_bytes;
  };
  for (const Bound& bound :
       {Bound{"x-request-id", 128}, Bound{"x-correlation-id", 128},
        Bound{"x-causation-id", 128}, Bound{"x-caused-by", 256}}) {
    const std::string value = Header(context, bound.header);
    if (value.size() > bound.max_bytes) {
      return MakeError(
          absl::StatusCode::kInvalidArgument, "shop", "INVALID_HEADER",
          absl::StrCat("header ", bound.header, " must be at most ",
                       bound.max_bytes, " bytes, got ", value.size()),
          {{"header", bound.header}});
    }
  }
  const std::string peer = AuthenticatedPeer(context);
  if (!peer.empty() && !Header(context, "x-caused-by").empty() &&
      !MaySpeakForOthers(peer, policy)) {
    return MakeError(
        absl::StatusCode::kPermissionDenied, "shop", "DELEGATION_NOT_ALLOWED",
        absl::StrCat("header x-caused-by: ", peer,
                     " may not act on behalf of others; the server records "
                     "it as the cause, so send no x-caused-by"),
        {{"header", "x-caused-by"}, {"peer", peer}});
  }
  return absl::OkStatus();
}

void PropagateCallMetadata(const eventstore::Metadata& metadata,
                           grpc::ClientContext* context) {
  if (!metadata.correlation_id.empty()) {
    context->AddMetadata("x-correlation-id", metadata.correlation_id);
  }
  if (!metadata.request_id.empty()) {
    context->AddMetadata("x-causation-id", metadata.request_id);
  }
  const std::string& end_user = metadata.on_behalf_of.empty()
                                    ? metadata.caused_by
                                    : metadata.on_behalf_of;
  if (!end_user.empty()) context->AddMetadata("x-caused-by", end_user);
}

}  // namespace shop
