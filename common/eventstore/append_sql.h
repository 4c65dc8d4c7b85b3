#pragma once

// Owns the SQL of the append statements, each a complete statement with
// `{schema}` for the service's schema.
#include <string>

#include "common/eventstore/expected_version.h"

namespace eventstore {

// The single-stream append for one kind of expectation. Parameters:
// $1 stream, $2 event count, $3 snapshot jsonb (NULL keeps the stored one),
// $4 due_at, $5..$8 event ids, types, data, metadata (arrays), $9 keep the
// stored due_at, and for kExact $10 the expected version. No row back means
// the expectation failed and nothing was written.
std::string AppendSql(const std::string& schema, ExpectedVersion::Kind kind);

// Group commit: exact appends to distinct existing streams in one statement;
// only heads whose expectation holds move and get events.
std::string MergedAppendSql(const std::string& schema);

// Runs an append statement (its parameters as AppendSql's) in a rolled-back
// subtransaction and returns the unique constraint that refuses it, if any.
std::string RefusingConstraintSql(const std::string& schema);

// Name of the expectation kind, for statement names.
const char* KindName(ExpectedVersion::Kind kind);

}  // namespace eventstore
