#include "common/rpc/call_metadata.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "common/errors/errors.h"
#include "common/eventstore/uuid.h"

namespace shop {
namespace {

std::string Header(const grpc::ServerContextBase& context, const char* key) {
  const auto& metadata = context.client_metadata();
  auto it = metadata.find(key);
  if (it == metadata.end()) return "";
  return std::string(it->second.data(), it->second.size());
}

}  // namespace

std::optional<absl::Time> DeadlineOf(const grpc::ServerContextBase& context) {
  const absl::Time deadline = absl::FromChrono(context.deadline());
  if (deadline > absl::Now() + absl::Hours(24 * 365)) return std::nullopt;
  return deadline;
}

eventstore::Metadata MetadataFromCall(const grpc::ServerContextBase& context) {
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
  metadata.caused_by = Header(context, "x-caused-by");
  if (metadata.caused_by.empty()) metadata.caused_by = context.peer();
  return metadata;
}

absl::Status ValidateCallHeaders(const grpc::ServerContextBase& context) {
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
  if (!metadata.caused_by.empty()) {
    context->AddMetadata("x-caused-by", metadata.caused_by);
  }
}

}  // namespace shop
