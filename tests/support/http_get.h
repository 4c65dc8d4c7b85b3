#pragma once

#include <string>

namespace shop::testing {

// Sends `request` as is to 127.0.0.1:`port` and returns everything the
// server answers until it closes; enough for the admin port's HTTP/1.1.
std::string HttpExchange(int port, const std::string& request);

// The whole response to `GET path`.
std::string HttpGet(int port, const std::string& path);

}  // namespace shop::testing
