// Owns the forensics of a refused append: a duplicate of events already in
// the stream is success, ids used by another stream are ALREADY_EXISTS, and
// anything else is WRONG_EXPECTED_VERSION with the stream's actual version.
#include "absl/strings/str_cat.h"
#include "common/eventstore/array_literal.h"
#include "common/eventstore/event_store.h"

namespace eventstore {

absl::StatusOr<AppendResult> EventStore::ResolveRefusedAppend(
    const std::string& stream, const ExpectedVersion& expected,
    const std::vector<EventData>& events, bool id_conflict) {
  const std::string find_name = prefix_ + "find_event_ids";
  const std::string version_name = prefix_ + "stream_version";
  const std::string ids = ArrayLiteralOf(
      events, [](const EventData& event) { return event.event_id; });
  int64_t found = 0;
  int64_t found_elsewhere = 0;
  int64_t actual = 0;
  AppendResult duplicate;
  absl::Status status = pool_->Run([&](Connection& connection) {
    connection.Prepare(
        find_name,
        absl::StrCat("SELECT stream_id = $2 AS here, version, "
                     "transaction_id::text, position FROM ",
                     schema_, ".events WHERE event_id = ANY($1::uuid[])"));
    connection.Prepare(version_name,
                       absl::StrCat("SELECT version FROM ", schema_,
                                    ".streams WHERE stream_id = $1"));
    pqxx::nontransaction tx(connection.raw());
    pqxx::result rows = tx.exec_prepared(find_name, ids, stream);
    pqxx::result same_stream_rows;
    for (const pqxx::row& row : rows) {
      if (row[0].as<bool>()) {
        ++found;
        int64_t version = row[1].as<int64_t>();
        if (version >= duplicate.version) {
          duplicate.version = version;
          duplicate.position.transaction_id = row[2].as<uint64_t>();
          duplicate.position.position = row[3].as<int64_t>();
        }
      } else {
        ++found_elsewhere;
      }
    }
    pqxx::result head = tx.exec_prepared(version_name, stream);
    actual = head.empty() ? 0 : head[0][0].as<int64_t>();
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  if (found == static_cast<int64_t>(events.size())) {
    duplicate.duplicate = true;
    return duplicate;
  }
  if (found_elsewhere > 0) {
    return absl::AlreadyExistsError(absl::StrCat(
        "an event id of this append is already used by another stream than ",
        stream));
  }
  if (id_conflict && found == 0) {
    // The conflicting event was rolled back meanwhile; the caller may retry.
    return absl::AbortedError(
        absl::StrCat("concurrent append with the same event ids on ", stream));
  }
  return WrongExpectedVersionError(stream, expected, actual);
}

}  // namespace eventstore
