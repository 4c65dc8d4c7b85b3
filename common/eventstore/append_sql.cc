// Owns the text of the append statements: one whole statement per kind of
// expectation, the merged group-commit statement, and the refusal probe.
#include "common/eventstore/append_sql.h"

#include "absl/strings/str_replace.h"

namespace eventstore {
namespace {

// The stream row moves only if the expectation holds (its lock serializes
// the writers of a stream); the events are numbered from the new version.
// The snapshot parameter is parsed once, in `p`: it can be large.
constexpr char kAppendAny[] = R"sql(
WITH head AS (
  INSERT INTO {schema}.streams AS s
    (stream_id, version, snapshot, snapshot_version, due_at)
  SELECT $1, $2::bigint, p.snapshot,
         CASE WHEN p.snapshot IS NULL THEN 0 ELSE $2::bigint END, p.due_at
  FROM (SELECT $3::jsonb AS snapshot, $4::timestamptz AS due_at,
               $9::boolean AS keep_due_at) AS p
  ON CONFLICT (stream_id) DO UPDATE SET
    version = s.version + $2::bigint,
    snapshot = COALESCE(excluded.snapshot, s.snapshot),
    snapshot_version = CASE WHEN excluded.snapshot IS NULL
                            THEN s.snapshot_version
                            ELSE s.version + $2::bigint END,
    due_at = CASE WHEN $9::boolean THEN s.due_at ELSE excluded.due_at END
  RETURNING s.version)
INSERT INTO {schema}.events (stream_id, version, event_id, type, data, metadata)
SELECT $1, head.version - $2::bigint + e.n, e.id, e.type, e.data, e.metadata
FROM head, unnest($5::uuid[], $6::text[], $7::jsonb[], $8::jsonb[])
  WITH ORDINALITY AS e(id, type, data, metadata, n)
RETURNING version, transaction_id::text, position
)sql";

constexpr char kAppendNoStream[] = R"sql(
WITH head AS (
  INSERT INTO {schema}.streams AS s
    (stream_id, version, snapshot, snapshot_version, due_at)
  SELECT $1, $2::bigint, p.snapshot,
         CASE WHEN p.snapshot IS NULL THEN 0 ELSE $2::bigint END, p.due_at
  FROM (SELECT $3::jsonb AS snapshot, $4::timestamptz AS due_at,
               $9::boolean AS keep_due_at) AS p
  ON CONFLICT (stream_id) DO NOTHING
  RETURNING s.version)
INSERT INTO {schema}.events (stream_id, version, event_id, type, data, metadata)
SELECT $1, head.version - $2::bigint + e.n, e.id, e.type, e.data, e.metadata
FROM head, unnest($5::uuid[], $6::text[], $7::jsonb[], $8::jsonb[])
  WITH ORDINALITY AS e(id, type, data, metadata, n)
RETURNING version, transaction_id::text, position
)sql";

// A new snapshot replaces the old one; none keeps it (it stays valid:
// readers fold newer events on top). The due time moves unless the caller
// wrote no snapshot at all.
constexpr char kAppendStreamExists[] = R"sql(
WITH head AS (
  UPDATE {schema}.streams AS s SET
    version = s.version + $2::bigint,
    snapshot = COALESCE(p.snapshot, s.snapshot),
    snapshot_version = CASE WHEN p.snapshot IS NULL THEN s.snapshot_version
                            ELSE s.version + $2::bigint END,
    due_at = CASE WHEN p.keep_due_at THEN s.due_at ELSE p.due_at END
  FROM (SELECT $3::jsonb AS snapshot, $4::timestamptz AS due_at,
               $9::boolean AS keep_due_at) AS p
  WHERE s.stream_id = $1
  RETURNING s.version)
INSERT INTO {schema}.events (stream_id, version, event_id, type, data, metadata)
SELECT $1, head.version - $2::bigint + e.n, e.id, e.type, e.data, e.metadata
FROM head, unnest($5::uuid[], $6::text[], $7::jsonb[], $8::jsonb[])
  WITH ORDINALITY AS e(id, type, data, metadata, n)
RETURNING version, transaction_id::text, position
)sql";

constexpr char kAppendExact[] = R"sql(
WITH head AS (
  UPDATE {schema}.streams AS s SET
    version = s.version + $2::bigint,
    snapshot = COALESCE(p.snapshot, s.snapshot),
    snapshot_version = CASE WHEN p.snapshot IS NULL THEN s.snapshot_version
                            ELSE s.version + $2::bigint END,
    due_at = CASE WHEN p.keep_due_at THEN s.due_at ELSE p.due_at END
  FROM (SELECT $3::jsonb AS snapshot, $4::timestamptz AS due_at,
               $9::boolean AS keep_due_at) AS p
  WHERE s.stream_id = $1 AND s.version = $10::bigint
  RETURNING s.version)
INSERT INTO {schema}.events (stream_id, version, event_id, type, data, metadata)
SELECT $1, head.version - $2::bigint + e.n, e.id, e.type, e.data, e.metadata
FROM head, unnest($5::uuid[], $6::text[], $7::jsonb[], $8::jsonb[])
  WITH ORDINALITY AS e(id, type, data, metadata, n)
RETURNING version, transaction_id::text, position
)sql";

// $1..$6 one element per append (stream, expected version, event count,
// snapshot, due_at, keep due_at); $7..$12 one per event (the append's index,
// its ordinal in the append, id, type, data, metadata).
constexpr char kAppendMerged[] = R"sql(
WITH head AS (
  UPDATE {schema}.streams AS s SET
    version = s.version + r.n,
    snapshot = COALESCE(r.snapshot, s.snapshot),
    snapshot_version = CASE WHEN r.snapshot IS NULL THEN s.snapshot_version
                            ELSE s.version + r.n END,
    due_at = CASE WHEN r.keep_due_at THEN s.due_at ELSE r.due_at END
  FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::jsonb[],
              $5::timestamptz[], $6::boolean[])
    WITH ORDINALITY AS r(stream_id, expected, n, snapshot, due_at,
                         keep_due_at, i)
  WHERE s.stream_id = r.stream_id AND s.version = r.expected
  RETURNING r.i, s.stream_id, s.version, r.n)
INSERT INTO {schema}.events (stream_id, version, event_id, type, data, metadata)
SELECT head.stream_id, head.version - head.n + e.ordinal, e.id, e.type,
       e.data, e.metadata
FROM head JOIN unnest($7::bigint[], $8::bigint[], $9::uuid[], $10::text[],
                      $11::jsonb[], $12::jsonb[])
  AS e(i, ordinal, id, type, data, metadata) ON e.i = head.i
-- Positions then grow with versions within each stream.
ORDER BY e.i, e.ordinal
RETURNING stream_id, version, transaction_id::text, position
)sql";

// The function is migration 0004 (migrations.cc).
constexpr char kRefusingConstraint[] = R"sql(
SELECT {schema}.refusing_constraint($1, $2, $3::bigint, $4::jsonb,
  $5::timestamptz, $6::uuid[], $7::text[], $8::jsonb[], $9::jsonb[],
  $10::boolean, $11::bigint)
)sql";

std::string InSchema(const char* sql, const std::string& schema) {
  return absl::StrReplaceAll(sql, {{"{schema}", schema}});
}

}  // namespace

std::string AppendSql(const std::string& schema, ExpectedVersion::Kind kind) {
  switch (kind) {
    case ExpectedVersion::Kind::kAny:
      return InSchema(kAppendAny, schema);
    case ExpectedVersion::Kind::kNoStream:
      return InSchema(kAppendNoStream, schema);
    case ExpectedVersion::Kind::kStreamExists:
      return InSchema(kAppendStreamExists, schema);
    case ExpectedVersion::Kind::kExact:
      return InSchema(kAppendExact, schema);
  }
  return "";
}

std::string MergedAppendSql(const std::string& schema) {
  return InSchema(kAppendMerged, schema);
}

std::string RefusingConstraintSql(const std::string& schema) {
  return InSchema(kRefusingConstraint, schema);
}

const char* KindName(ExpectedVersion::Kind kind) {
  switch (kind) {
    case ExpectedVersion::Kind::kAny:
      return "any";
    case ExpectedVersion::Kind::kNoStream:
      return "no_stream";
    case ExpectedVersion::Kind::kStreamExists:
      return "stream_exists";
    case ExpectedVersion::Kind::kExact:
      return "exact";
  }
  return "?";
}

}  // namespace eventstore
