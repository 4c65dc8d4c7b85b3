#include "common/util/proto_json.h"

#include <cstdint>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/util/utf8.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/util/json_util.h"

namespace shop {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

// Whether `text` is printed by protobuf's JSON writer exactly as
// AppendPlainString prints it: printable ASCII, where only '"' and '\'
// need escaping (protobuf escapes '<', '>' and non-ASCII its own way).
bool IsPlain(const std::string& text) {
  for (char c : text) {
    if (c < 0x20 || c > 0x7e || c == '<' || c == '>') return false;
  }
  return true;
}

void AppendPlainString(const std::string& text, std::string* out) {
  out->push_back('"');
  for (char c : text) {
    if (c == '"' || c == '\\') out->push_back('\\');
    out->push_back(c);
  }
  out->push_back('"');
}

// RFC 3339 in UTC with 0, 3, 6 or 9 fractional digits, as protobuf prints
// google.protobuf.Timestamp.
bool AppendTimestamp(const Message& message, std::string* out) {
  const Descriptor* descriptor = message.GetDescriptor();
  const Reflection* reflection = message.GetReflection();
  const int64_t seconds =
      reflection->GetInt64(message, descriptor->FindFieldByNumber(1));
  const int32_t nanos =
      reflection->GetInt32(message, descriptor->FindFieldByNumber(2));
  // Year 1 to 9999, the range protobuf accepts.
  if (seconds < -62135596800 || seconds > 253402300799 || nanos < 0 ||
      nanos > 999999999) {
    return false;
  }
  const absl::CivilSecond civil =
      absl::ToCivilSecond(absl::FromUnixSeconds(seconds), absl::UTCTimeZone());
  char buffer[64];
  int n =
      std::snprintf(buffer, sizeof(buffer), "\"%04d-%02d-%02dT%02d:%02d:%02d",
                    static_cast<int>(civil.year()), civil.month(), civil.day(),
                    civil.hour(), civil.minute(), civil.second());
  if (nanos != 0) {
    if (nanos % 1000000 == 0) {
      n += std::snprintf(buffer + n, sizeof(buffer) - n, ".%03d",
                         nanos / 1000000);
    } else if (nanos % 1000 == 0) {
      n += std::snprintf(buffer + n, sizeof(buffer) - n, ".%06d", nanos / 1000);
    } else {
      n += std::snprintf(buffer + n, sizeof(buffer) - n, ".%09d", nanos);
    }
  }
  out->append(buffer, n);
  out->append("Z\"");
  return true;
}

bool AppendMessage(const Message& message, std::string* out);

// A singular field's value (index < 0) or a repeated field's element.
template <typename T>
T Get(const Message& message, const FieldDescriptor* field, int index,
      T (Reflection::*singular)(const Message&, const FieldDescriptor*) const,
      T (Reflection::*element)(const Message&, const FieldDescriptor*, int)
          const) {
  const Reflection* reflection = message.GetReflection();
  return index < 0 ? (reflection->*singular)(message, field)
                   : (reflection->*element)(message, field, index);
}

// One singular value (index < 0), or element `index` of a repeated field.
bool AppendValue(const Message& message, const FieldDescriptor* field,
                 int index, std::string* out) {
  switch (field->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
      absl::StrAppend(out, Get(message, field, index, &Reflection::GetInt32,
                               &Reflection::GetRepeatedInt32));
      return true;
    case FieldDescriptor::CPPTYPE_UINT32:
      absl::StrAppend(out, Get(message, field, index, &Reflection::GetUInt32,
                               &Reflection::GetRepeatedUInt32));
      return true;
    // 64-bit integers are strings in protobuf's JSON mapping.
    case FieldDescriptor::CPPTYPE_INT64:
      absl::StrAppend(out, "\"",
                      Get(message, field, index, &Reflection::GetInt64,
                          &Reflection::GetRepeatedInt64),
                      "\"");
      return true;
    case FieldDescriptor::CPPTYPE_UINT64:
      absl::StrAppend(out, "\"",
                      Get(message, field, index, &Reflection::GetUInt64,
                          &Reflection::GetRepeatedUInt64),
                      "\"");
      return true;
    case FieldDescriptor::CPPTYPE_BOOL:
      out->append(Get(message, field, index, &Reflection::GetBool,
                      &Reflection::GetRepeatedBool)
                      ? "true"
                      : "false");
      return true;
    case FieldDescriptor::CPPTYPE_STRING: {
      if (field->type() == FieldDescriptor::TYPE_BYTES) return false;
      const Reflection* reflection = message.GetReflection();
      std::string scratch;
      const std::string& text =
          index < 0 ? reflection->GetStringReference(message, field, &scratch)
                    : reflection->GetRepeatedStringReference(message, field,
                                                             index, &scratch);
      if (!IsPlain(text)) return false;
      AppendPlainString(text, out);
      return true;
    }
    case FieldDescriptor::CPPTYPE_MESSAGE:
      return AppendMessage(
          index < 0 ? message.GetReflection()->GetMessage(message, field)
                    : message.GetReflection()->GetRepeatedMessage(message,
                                                                  field, index),
          out);
    default:  // floating point and enums: left to protobuf
      return false;
  }
}

// The map field `field` as a JSON object.
bool AppendMap(const Message& message, const FieldDescriptor* field,
               std::string* out) {
  const Reflection* reflection = message.GetReflection();
  const FieldDescriptor* key = field->message_type()->map_key();
  const FieldDescriptor* value = field->message_type()->map_value();
  out->push_back('{');
  const int size = reflection->FieldSize(message, field);
  for (int i = 0; i < size; ++i) {
    const Message& entry = reflection->GetRepeatedMessage(message, field, i);
    if (i > 0) out->push_back(',');
    // Keys are strings in JSON: only string keys are handled here.
    if (key->cpp_type() != FieldDescriptor::CPPTYPE_STRING) return false;
    std::string scratch;
    const std::string& name =
        entry.GetReflection()->GetStringReference(entry, key, &scratch);
    if (!IsPlain(name)) return false;
    AppendPlainString(name, out);
    out->push_back(':');
    if (!AppendValue(entry, value, -1, out)) return false;
  }
  out->push_back('}');
  return true;
}

// Appends the JSON value protobuf's printer writes, with every field
// printed; false when it holds something this writer leaves to protobuf.
bool AppendMessage(const Message& message, std::string* out) {
  const Descriptor* descriptor = message.GetDescriptor();
  if (descriptor->full_name() == "google.protobuf.Timestamp") {
    return AppendTimestamp(message, out);
  }
  if (descriptor->file()->package() == "google.protobuf") return false;
  const Reflection* reflection = message.GetReflection();
  out->push_back('{');
  bool first = true;
  for (int i = 0; i < descriptor->field_count(); ++i) {
    const FieldDescriptor* field = descriptor->field(i);
    const bool present = field->is_repeated() || !field->has_presence() ||
                         reflection->HasField(message, field);
    if (!present) continue;
    if (!first) out->push_back(',');
    first = false;
    absl::StrAppend(out, "\"", field->json_name(), "\":");
    if (field->is_map()) {
      if (!AppendMap(message, field, out)) return false;
    } else if (field->is_repeated()) {
      out->push_back('[');
      const int size = reflection->FieldSize(message, field);
      for (int j = 0; j < size; ++j) {
        if (j > 0) out->push_back(',');
        if (!AppendValue(message, field, j, out)) return false;
      }
      out->push_back(']');
    } else if (!AppendValue(message, field, -1, out)) {
      return false;
    }
  }
  out->push_back('}');
  return true;
}

}  // namespace

std::string ToJson(const google::protobuf::Message& message) {
  // The common case, written directly: protobuf's printer costs several
  // microseconds per message on the write path of every command.
  std::string json;
  if (AppendMessage(message, &json)) return json;
  json.clear();
  google::protobuf::util::JsonPrintOptions options;
  options.always_print_primitive_fields = true;
  // Serializing a well-formed message to JSON cannot fail.
  (void)google::protobuf::util::MessageToJsonString(message, &json, options);
  return json;
}

void AppendJsonString(absl::string_view text, std::string* out) {
  out->push_back('"');
  size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      if (c == '"' || c == '\\') {
        out->push_back('\\');
        out->push_back(static_cast<char>(c));
      } else if (c < 0x20 || c == 0x7f) {
        char escaped[8];
        std::snprintf(escaped, sizeof(escaped), "\\u%04x", c);
        out->append(escaped);
      } else {
        out->push_back(static_cast<char>(c));
      }
      ++i;
      continue;
    }
    // A well-formed UTF-8 sequence is copied; anything else becomes U+FFFD,
    // since PostgreSQL refuses text that is not valid UTF-8.
    const size_t length = Utf8SequenceLength(text.substr(i));
    const bool valid = length > 0;
    if (valid) {
      out->append(text.data() + i, length);
      i += length;
    } else {
      out->append("\\ufffd");
      ++i;
    }
  }
  out->push_back('"');
}

absl::Status FromJson(absl::string_view json,
                      google::protobuf::Message* message) {
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  auto status = google::protobuf::util::JsonStringToMessage(std::string(json),
                                                            message, options);
  if (!status.ok()) {
    return absl::DataLossError(absl::StrCat(
        "cannot parse ", message->GetTypeName(), ": ", status.ToString()));
  }
  return absl::OkStatus();
}

}  // namespace shop
