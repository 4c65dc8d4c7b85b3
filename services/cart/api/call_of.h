#pragma once

#include "absl/time/time.h"
#include "common/rpc/call_metadata.h"
#include "grpcpp/grpcpp.h"
#include "services/cart/app/carts.h"

namespace cart {

// The call as the app sees it: identity, pinned version, and the caller's
// deadline, which the calls to inventory honour.
template <typename Request>
CallContext CallOf(const grpc::ServerContextBase& context,
                   const Request& request) {
  CallContext call;
  static_cast<eventstore::CommandContext&>(call) =
      shop::ContextOf(context, request);
  const absl::Time deadline = absl::FromChrono(context.deadline());
  // gRPC's "no deadline" is far in the future.
  if (deadline < absl::Now() + absl::Hours(24 * 365)) call.deadline = deadline;
  return call;
}

}  // namespace cart
