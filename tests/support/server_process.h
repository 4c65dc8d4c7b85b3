#pragma once

#include <string>

#include "absl/time/time.h"
#include "tests/support/child_process.h"
#include "tests/support/test_database.h"

namespace shop::testing {

// How long a server process gets to start, or `migrate` to finish.
inline constexpr absl::Duration kStartTimeout = absl::Seconds(30);

// The port a server logged it listens on (`what` names which port); 0 and
// a test failure when it did not say so in time.
int PortOf(ChildProcess& server, const std::string& what = "listening on port");

// Migrates `roles`' schema with `server migrate`, as the schema's owner.
void MigrateAsOwner(const char* server, const TestRoles& roles);

}  // namespace shop::testing
