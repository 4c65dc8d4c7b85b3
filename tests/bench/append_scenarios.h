#pragma once

#include <memory>

#include "tests/bench/load_runner.h"

namespace shop::bench {

// Event store appends, each scenario in a fresh schema dropped at the end,
// checking that the store holds exactly the events whose append succeeded.

// Every worker appends to one stream with expected version `any`.
std::unique_ptr<Scenario> MakeAppendOneStream(const LoadOptions& options);
// Every worker appends to one stream with the exact version it last saw,
// retrying on WRONG_EXPECTED_VERSION (the read-decide-write pattern).
std::unique_ptr<Scenario> MakeAppendOneStreamExact(const LoadOptions& options);
// Each append creates a fresh stream (expected `no_stream`), like new carts.
std::unique_ptr<Scenario> MakeAppendManyStreams(const LoadOptions& options);
// Each worker appends to its own stream with the exact version, like a
// service busy on many products: no conflicts expected.
std::unique_ptr<Scenario> MakeAppendWorkerStreams(const LoadOptions& options);

}  // namespace shop::bench
