#include "common/rpc/tls.h"

#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "grpcpp/security/tls_certificate_provider.h"
#include "grpcpp/security/tls_credentials_options.h"

namespace shop {
namespace {

// Secrets mounted in a pod are swapped whole; a minute is their own delay.
constexpr unsigned int kRefreshSeconds = 60;

// Whether `path` can be read and holds a PEM block of `kind`.
bool HoldsPem(const std::string& path, absl::string_view kind) {
  std::ifstream in(path);
  if (!in) return false;
  std::stringstream text;
  text << in.rdbuf();
  const std::string pem = text.str();
  return absl::StrContains(pem, "-----BEGIN ") &&
         absl::StrContains(pem, absl::StrCat(kind, "-----"));
}

std::shared_ptr<grpc::experimental::FileWatcherCertificateProvider> WatcherFor(
    const TlsFiles& files) {
  return std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
      files.key_file, files.cert_file, files.ca_file, kRefreshSeconds);
}

}  // namespace

std::vector<TlsFileProblem> TlsFileProblems(const TlsFiles& files,
                                            const TlsFlagNames& names,
                                            bool server) {
  std::vector<TlsFileProblem> problems;
  if (files.cert_file.empty() != files.key_file.empty()) {
    const bool key_missing = files.key_file.empty();
    problems.push_back(
        {key_missing ? names.key_file : names.cert_file,
         absl::StrCat("set together with --",
                      key_missing ? names.cert_file : names.key_file)});
  }
  if (server && !files.ca_file.empty() && files.cert_file.empty()) {
    problems.push_back(
        {names.cert_file,
         absl::StrCat("set (with --", names.key_file, ") when --",
                      names.ca_file, " asks for client certificates")});
  }
  const struct {
    const std::string& path;
    const std::string& flag;
    const char* kind;
    const char* what;
  } pems[] = {
      {files.cert_file, names.cert_file, "CERTIFICATE", "certificate"},
      {files.key_file, names.key_file, "PRIVATE KEY", "private key"},
      {files.ca_file, names.ca_file, "CERTIFICATE", "CA certificate"},
  };
  for (const auto& pem : pems) {
    if (!pem.path.empty() && !HoldsPem(pem.path, pem.kind)) {
      problems.push_back(
          {pem.flag, absl::StrCat("a readable PEM file holding a ", pem.what)});
    }
  }
  return problems;
}

std::shared_ptr<grpc::ServerCredentials> ServerCredentialsFor(
    const TlsFiles& files) {
  if (files.cert_file.empty()) return grpc::InsecureServerCredentials();
  grpc::experimental::TlsServerCredentialsOptions options(WatcherFor(files));
  options.watch_identity_key_cert_pairs();
  if (files.ca_file.empty()) {
    options.set_cert_request_type(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  } else {
    options.watch_root_certs();
    options.set_cert_request_type(
        GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  }
  return grpc::experimental::TlsServerCredentials(options);
}

std::shared_ptr<grpc::ChannelCredentials> ChannelCredentialsFor(
    const TlsFiles& files) {
  if (files.empty()) return grpc::InsecureChannelCredentials();
  grpc::experimental::TlsChannelCredentialsOptions options;
  options.set_certificate_provider(WatcherFor(files));
  // Without a CA of its own the client trusts the system's roots.
  if (!files.ca_file.empty()) options.watch_root_certs();
  if (!files.cert_file.empty()) options.watch_identity_key_cert_pairs();
  options.set_verify_server_certs(true);
  return grpc::experimental::TlsCredentials(options);
}

std::string AuthenticatedPeer(const grpc::ServerContextBase& context) {
  std::shared_ptr<const grpc::AuthContext> auth = context.auth_context();
  if (auth == nullptr || !auth->IsPeerAuthenticated()) return "";
  std::vector<grpc::string_ref> identity = auth->GetPeerIdentity();
  if (identity.empty()) return "";
  return std::string(identity.front().data(), identity.front().size());
}

}  // namespace shop
