// Owns event ids: new time-ordered UUIDs and the canonical-form check.
#include "common/eventstore/uuid.h"

#include <cstdint>

#include "absl/random/random.h"
#include "absl/strings/ascii.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace eventstore {

std::string NewUuid() {
  // BitGen is not thread-safe; one per thread is cheap and seeded securely.
  thread_local absl::BitGen gen;
  const auto millis = static_cast<uint64_t>(absl::ToUnixMillis(absl::Now()));
  const uint64_t random_a = absl::Uniform<uint64_t>(gen);
  const uint64_t random_b = absl::Uniform<uint64_t>(gen);
  uint8_t bytes[16];
  for (int i = 0; i < 6; ++i) {
    bytes[i] = static_cast<uint8_t>(millis >> (40 - 8 * i));
  }
  for (int i = 6; i < 8; ++i) {
    bytes[i] = static_cast<uint8_t>(random_a >> (8 * i));
  }
  for (int i = 8; i < 16; ++i) {
    bytes[i] = static_cast<uint8_t>(random_b >> (8 * (i - 8)));
  }
  bytes[6] = (bytes[6] & 0x0f) | 0x70;  // version 7
  bytes[8] = (bytes[8] & 0x3f) | 0x80;  // RFC 9562 variant
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(36);
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
    out.push_back(kHex[bytes[i] >> 4]);
    out.push_back(kHex[bytes[i] & 0x0f]);
  }
  return out;
}

bool IsUuid(absl::string_view text) {
  if (text.size() != 36) return false;
  for (size_t i = 0; i < text.size(); ++i) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (text[i] != '-') return false;
    } else if (!absl::ascii_isxdigit(static_cast<unsigned char>(text[i]))) {
      return false;
    }
  }
  return true;
}

}  // namespace eventstore
