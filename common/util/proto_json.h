#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/message.h"

namespace shop {

// A message as JSON for the event store: camelCase names and every field,
// zeros included, so an auditor's SQL never meets a missing key.
std::string ToJson(const google::protobuf::Message& message);

// Appends `text` as a JSON string. Invalid UTF-8 becomes U+FFFD.
void AppendJsonString(absl::string_view text, std::string* out);

// Parses JSON written by ToJson (unknown fields are tolerated, so old
// readers survive new fields).
absl::Status FromJson(absl::string_view json,
                      google::protobuf::Message* message);

}  // namespace shop
