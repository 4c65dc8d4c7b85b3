// Owns what the store's users share around an append: metadata as JSON,
// the retry policy of a refused append, LoadStream, and schema names.
#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/errors/errors.h"
#include "common/eventstore/event_store.h"
#include "common/util/proto_json.h"

namespace eventstore {

std::string Metadata::ToJson() const {
  std::string json = "{";
  auto put = [&json](absl::string_view key, const std::string& value) {
    if (value.empty()) return;
    if (json.size() > 1) json.push_back(',');
    absl::StrAppend(&json, "\"", key, "\":");
    shop::AppendJsonString(value, &json);
  };
  put("correlationId", correlation_id);
  put("causationId", causation_id);
  put("causedBy", caused_by);
  put("onBehalfOf", on_behalf_of);
  put("requestId", request_id);
  json.push_back('}');
  return json;
}

namespace {

// Only a version conflict the caller did not pin is decided again.
bool ShouldRetryAppend(const absl::Status& status,
                       const CommandContext& context) {
  return AsWrongExpectedVersion(status).has_value() &&
         !context.expected_version.has_value();
}

absl::Status ConflictsExhausted(absl::string_view domain,
                                const std::string& stream, int attempts) {
  return shop::MakeError(absl::StatusCode::kAborted, domain,
                         "CONCURRENCY_CONFLICT",
                         absl::StrCat(stream, " kept changing: gave up after ",
                                      attempts, " attempts; retry the call"),
                         {{"stream", stream}});
}

}  // namespace

bool AppendRetry::Again(const absl::Status& status,
                        const CommandContext& context) {
  if (!ShouldRetryAppend(status, context) || !Spend()) return false;
  BackoffBeforeRetry(attempts_);
  return true;
}

bool AppendRetry::Spend() {
  if (attempts_ >= max_attempts_) {
    exhausted_ = true;
    return false;
  }
  ++attempts_;
  return true;
}

absl::Status AppendRetry::Answer(const absl::Status& status,
                                 absl::string_view domain,
                                 const std::string& stream) const {
  return exhausted_ ? ConflictsExhausted(domain, stream, attempts_) : status;
}

absl::StatusOr<int64_t> LoadStream(
    EventStore& store, const std::string& stream,
    absl::FunctionRef<absl::Status(const std::string& snapshot_json)> restore,
    absl::FunctionRef<absl::Status(const RecordedEvent& event)> apply,
    int64_t* snapshot_version) {
  absl::StatusOr<StreamHead> head = store.ReadHead(stream);
  if (!head.ok()) return head.status();
  if (snapshot_version != nullptr) *snapshot_version = head->snapshot_version;
  if (head->version == 0) return 0;
  if (!head->snapshot_json.empty()) {
    if (absl::Status status = restore(head->snapshot_json); !status.ok()) {
      return status;
    }
  }
  // Events appended without a snapshot are folded on top of the last one.
  int64_t version = head->snapshot_version;
  while (version < head->version) {
    absl::StatusOr<std::vector<RecordedEvent>> page =
        store.ReadStreamForward(stream, version + 1, 1000);
    if (!page.ok()) return page.status();
    if (page->empty()) break;
    for (const RecordedEvent& event : *page) {
      // An append after the head was read stays out: state and version agree.
      if (event.version > head->version) return head->version;
      if (absl::Status status = apply(event); !status.ok()) return status;
      version = event.version;
    }
  }
  return head->version;
}

bool IsValidSchemaName(const std::string& schema) {
  if (schema.empty() || schema.size() > 63) return false;
  if (!(schema[0] == '_' || (schema[0] >= 'a' && schema[0] <= 'z'))) {
    return false;
  }
  return std::all_of(schema.begin(), schema.end(), [](char c) {
    return c == '_' || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
  });
}

}  // namespace eventstore
