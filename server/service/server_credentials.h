// The transport security of the gRPC port: plaintext (the default, for
// development on loopback), TLS, or mutual TLS where every client must show
// a certificate signed by the given CA.
#pragma once

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "grpcpp/security/server_credentials.h"

namespace switchyard::server {

struct TlsConfig {
  std::string cert_file;       // PEM certificate chain; empty = plaintext
  std::string key_file;        // PEM private key of cert_file
  std::string client_ca_file;  // PEM CA certificates; set = mutual TLS

  bool enabled() const { return !cert_file.empty(); }
  // Certificate and key come together, a client CA only with them, and each
  // file given is readable PEM: a wrong path fails at start, naming the file.
  absl::Status Validate() const;
  // "plaintext", "TLS" or "mutual TLS (client certificates from CA <file>)".
  std::string Describe() const;
};

// InsecureServerCredentials without TLS; else SSL credentials that, with a
// client CA, require and verify a client certificate.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> BuildServerCredentials(const TlsConfig& config);

}  // namespace switchyard::server
