#pragma once

#include <memory>

#include "tests/bench/load_runner.h"

namespace shop::bench {

// Scenarios against running servers over gRPC (addresses in LoadOptions).
// Each one sets up its own products and carts under fresh random ids, so a
// server can serve several runs; the invariant is read back through the
// services' own APIs.

// grpc.health.v1.Health/Check on the inventory server: the gRPC stack's
// ceiling on this machine, with no database in the call.
std::unique_ptr<Scenario> MakeHealth(const LoadOptions& options);
// ReserveStock of one unit on a random product out of many.
std::unique_ptr<Scenario> MakeReserveMany(const LoadOptions& options);
// ReserveStock of one unit, every caller on the same product.
std::unique_ptr<Scenario> MakeReserveHot(const LoadOptions& options);
// Cart AddItem of one unit of a random product out of many: cart ->
// inventory -> both databases.
std::unique_ptr<Scenario> MakeAddItemMany(const LoadOptions& options);
// Cart AddItem of one unit, every caller on the same product.
std::unique_ptr<Scenario> MakeAddItemHot(const LoadOptions& options);

}  // namespace shop::bench
