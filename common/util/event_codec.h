#pragma once

// Owns the one shape of an event catalogue: a std::variant of protobuf
// messages, one type name per alternative, and their JSON. Each stream's
// domain (product, cart, order) names its events once, here.

#include <array>
#include <cstddef>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "common/util/proto_json.h"

namespace shop {

template <typename Variant>
class EventCodec {
 public:
  static constexpr size_t kSize = std::variant_size_v<Variant>;

  // The stored type of each of the variant's alternatives, in its order.
  template <typename... Names>
  explicit constexpr EventCodec(Names... names) : names_{names...} {
    static_assert(sizeof...(Names) == kSize, "one name per alternative");
  }

  absl::string_view TypeOf(const Variant& event) const {
    return names_[event.index()];
  }
  // The stored type of alternative `T`.
  template <typename T>
  const char* NameOf() const {
    return names_[Variant(std::in_place_type<T>).index()];
  }
  std::vector<std::string> Names() const {
    return std::vector<std::string>(names_.begin(), names_.end());
  }

  std::string ToJson(const Variant& event) const {
    return std::visit([](const auto& message) { return shop::ToJson(message); },
                      event);
  }
  // DATA_LOSS for a type this catalogue does not know.
  absl::StatusOr<Variant> FromJson(absl::string_view type,
                                   absl::string_view json) const {
    for (size_t i = 0; i < kSize; ++i) {
      if (type == names_[i]) return kParsers[i](json);
    }
    return absl::DataLossError(absl::StrCat("unknown event type '", type, "'"));
  }

 private:
  using Parser = absl::StatusOr<Variant> (*)(absl::string_view);

  template <size_t I>
  static absl::StatusOr<Variant> ParseAt(absl::string_view json) {
    std::variant_alternative_t<I, Variant> message;
    if (absl::Status status = shop::FromJson(json, &message); !status.ok()) {
      return status;
    }
    return Variant(std::in_place_index<I>, std::move(message));
  }
  template <size_t... I>
  static constexpr std::array<Parser, kSize> ParsersOf(
      std::index_sequence<I...>) {
    return {&ParseAt<I>...};
  }
  static constexpr std::array<Parser, kSize> kParsers =
      ParsersOf(std::make_index_sequence<kSize>());

  std::array<const char*, kSize> names_;
};

}  // namespace shop
