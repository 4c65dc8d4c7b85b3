#pragma once

#include <string>

#include "common/rpc/tls.h"

namespace shop::testing {

// A certificate authority made with openssl for one test, in a temporary
// folder removed at the end. Its certificates are valid for a day and name
// 127.0.0.1, so a client reaching a loopback port can verify the server.
class TestCa final {
 public:
  explicit TestCa(const std::string& name);
  ~TestCa();
  TestCa(const TestCa&) = delete;
  TestCa& operator=(const TestCa&) = delete;

  // A certificate signed by this CA whose identity (subject alternative
  // name and common name) is `identity`, its key, and this CA.
  TlsFiles Issue(const std::string& identity);
  const std::string& ca_file() const { return ca_file_; }

 private:
  std::string dir_;
  std::string ca_file_;
  std::string ca_key_;
};

}  // namespace shop::testing
