// Owns the statement of a merged batch: its array parameters, one element
// per member or per event, and the mapping of its rows back to members.
#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/eventstore/append_sql.h"
#include "common/eventstore/array_literal.h"
#include "common/eventstore/event_store.h"
#include "common/eventstore/event_store_internal.h"

namespace eventstore {

GroupWriter::Merged EventStore::Writer::WriteMerged(
    const std::vector<AppendArgs>& batch, absl::Time deadline) {
  ArrayLiteral streams, expected, counts, snapshots, due_ats, keep_due_ats;
  ArrayLiteral indexes, ordinals, ids, types, data, metadata;
  std::vector<const std::string*> stream_ids;
  for (size_t i = 0; i < batch.size(); ++i) {
    const AppendArgs& append = batch[i];
    const SnapshotWrite* snapshot = append.snapshot;
    stream_ids.push_back(&append.stream);
    streams.Add(append.stream);
    expected.Add(absl::StrCat(append.expected.version()));
    counts.Add(absl::StrCat(append.events.size()));
    if (snapshot != nullptr && snapshot->json.has_value()) {
      snapshots.Add(*snapshot->json);
    } else {
      snapshots.AddNull();
    }
    if (snapshot != nullptr && snapshot->due_at.has_value()) {
      due_ats.Add(internal::FormatTimestamp(*snapshot->due_at));
    } else {
      due_ats.AddNull();
    }
    keep_due_ats.Add(snapshot == nullptr ? "t" : "f");
    for (size_t n = 0; n < append.events.size(); ++n) {
      const EventData& event = append.events[n];
      indexes.Add(absl::StrCat(i + 1));
      ordinals.Add(absl::StrCat(n + 1));
      ids.Add(event.event_id);
      types.Add(event.type);
      data.Add(event.data_json);
      metadata.Add(event.metadata_json);
    }
  }

  const std::string name = store_.prefix_ + "append_merged";
  Merged merged;
  merged.written.resize(batch.size());
  merged.status = store_.RunWrite(
      deadline, stream_ids,
      [&](Connection& connection) {
        connection.Prepare(name, MergedAppendSql(store_.schema_));
        pqxx::nontransaction tx(connection.raw());
        pqxx::result rows = tx.exec_prepared(
            name, std::move(streams).Finish(), std::move(expected).Finish(),
            std::move(counts).Finish(), std::move(snapshots).Finish(),
            std::move(due_ats).Finish(), std::move(keep_due_ats).Finish(),
            std::move(indexes).Finish(), std::move(ordinals).Finish(),
            std::move(ids).Finish(), std::move(types).Finish(),
            std::move(data).Finish(), std::move(metadata).Finish());
        if (!rows.empty()) store_.NoteCommitted(rows[0][2].as<uint64_t>());
        for (const pqxx::row& row : rows) {
          const std::string stream = row[0].as<std::string>();
          auto it = std::lower_bound(
              batch.begin(), batch.end(), stream,
              [](const AppendArgs& append, const std::string& id) {
                return append.stream < id;
              });
          if (it == batch.end() || it->stream != stream) continue;
          std::optional<AppendResult>& result =
              merged.written[static_cast<size_t>(it - batch.begin())];
          if (!result.has_value()) result.emplace();
          const int64_t version = row[1].as<int64_t>();
          if (version >= result->version) {
            result->version = version;
            result->position.transaction_id = row[2].as<uint64_t>();
            result->position.position = row[3].as<int64_t>();
          }
        }
        return absl::OkStatus();
      },
      &merged.not_written);
  return merged;
}

}  // namespace eventstore
