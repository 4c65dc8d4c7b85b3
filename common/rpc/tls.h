#pragma once

#include <memory>
#include <string>
#include <vector>

#include "grpcpp/grpcpp.h"

namespace shop {

// The PEM files of one end of a TLS connection. A server with a CA
// requires and verifies client certificates (mutual TLS); a client's CA
// verifies the server. The files are read again when they change (a
// renewed Secret), within a minute, with no restart.
struct TlsFiles {
  std::string cert_file;  // this end's certificate chain
  std::string key_file;   // its private key
  std::string ca_file;    // the CA that signs the other end's certificates

  bool empty() const {
    return cert_file.empty() && key_file.empty() && ca_file.empty();
  }
};

// The flags that set a TlsFiles, for messages.
struct TlsFlagNames {
  std::string cert_file;
  std::string key_file;
  std::string ca_file;
};

// A flag whose value will not do, and what it must be.
struct TlsFileProblem {
  std::string flag;
  std::string allowed;
};

// Every problem of `files`: a certificate needs its key and the other way
// round, a server's CA needs its certificate, and each file must be
// readable PEM of its kind. Empty when the files will do.
std::vector<TlsFileProblem> TlsFileProblems(const TlsFiles& files,
                                            const TlsFlagNames& names,
                                            bool server);

// Plaintext when `files` is empty, else TLS (mutual with a CA). The files
// must have passed TlsFileProblems.
std::shared_ptr<grpc::ServerCredentials> ServerCredentialsFor(
    const TlsFiles& files);
std::shared_ptr<grpc::ChannelCredentials> ChannelCredentialsFor(
    const TlsFiles& files);

// The identity the peer's verified certificate names (its first subject
// alternative name, else its common name); empty when the call is not
// authenticated by a client certificate.
std::string AuthenticatedPeer(const grpc::ServerContextBase& context);

}  // namespace shop
