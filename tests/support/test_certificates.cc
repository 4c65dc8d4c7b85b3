#include "tests/support/test_certificates.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace shop::testing {
namespace {

void Run(const std::string& command) {
  const std::string quiet = absl::StrCat(command, " >/dev/null 2>&1");
  ASSERT_EQ(std::system(quiet.c_str()), 0) << "failed: " << command;
}

}  // namespace

TestCa::TestCa(const std::string& name) {
  std::string pattern =
      (std::filesystem::temp_directory_path() / "shop-ca-XXXXXX").string();
  dir_ = mkdtemp(pattern.data()) == nullptr ? "" : pattern;
  EXPECT_FALSE(dir_.empty()) << "cannot make a temporary folder";
  ca_file_ = dir_ + "/ca.crt";
  ca_key_ = dir_ + "/ca.key";
  Run(
      absl::StrCat("openssl req -x509 -newkey ec -pkeyopt "
                   "ec_paramgen_curve:prime256v1 -nodes -days 1 -subj '/CN=",
                   name, "' -keyout ", ca_key_, " -out ", ca_file_));
}

TestCa::~TestCa() {
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

TlsFiles TestCa::Issue(const std::string& identity) {
  const std::string base = absl::StrCat(dir_, "/", identity);
  {
    std::ofstream extensions(base + ".ext");
    extensions << "subjectAltName=DNS:" << identity << ",IP:127.0.0.1\n";
  }
  Run(
      absl::StrCat("openssl req -newkey ec -pkeyopt "
                   "ec_paramgen_curve:prime256v1 -nodes -subj '/CN=",
                   identity, "' -keyout ", base, ".key -out ", base, ".csr"));
  Run(absl::StrCat("openssl x509 -req -days 1 -in ", base, ".csr -CA ",
                   ca_file_, " -CAkey ", ca_key_, " -CAcreateserial -extfile ",
                   base, ".ext -out ", base, ".crt"));
  return {.cert_file = base + ".crt",
          .key_file = base + ".key",
          .ca_file = ca_file_};
}

}  // namespace shop::testing
