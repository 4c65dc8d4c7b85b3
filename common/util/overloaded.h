#pragma once

namespace shop {

// Lambdas merged into one visitor for std::visit over an event variant.
template <class... Ts>
struct Overloaded : Ts... {
  using Ts::operator()...;
};

}  // namespace shop
