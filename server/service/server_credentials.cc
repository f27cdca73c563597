#include "server/service/server_credentials.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "engine/status_macros.h"
#include "server/service/read_file.h"

namespace switchyard::server {
namespace {

// The file's text if it holds a PEM block of `kind` ("CERTIFICATE", "PRIVATE
// KEY"): gRPC would otherwise only say that the port could not be opened.
absl::StatusOr<std::string> ReadPem(const std::string& path, absl::string_view what, absl::string_view kind) {
  ASSIGN_OR_RETURN(std::string text, ReadConfigFile(path, what));
  if (!absl::StrContains(text, "-----BEGIN ") || !absl::StrContains(text, absl::StrCat(kind, "-----"))) {
    return absl::InvalidArgumentError(absl::StrCat(what, " file ", path, " holds no PEM ", kind));
  }
  return text;
}

}  // namespace

absl::Status TlsConfig::Validate() const {
  if (cert_file.empty() != key_file.empty()) {
    return absl::InvalidArgumentError("TLS needs both a certificate file and its private key file");
  }
  if (!client_ca_file.empty() && cert_file.empty()) {
    return absl::InvalidArgumentError("a client CA file (mutual TLS) needs a TLS certificate and key file too");
  }
  if (!enabled()) return absl::OkStatus();
  RETURN_IF_ERROR(ReadPem(cert_file, "TLS certificate", "CERTIFICATE").status());
  RETURN_IF_ERROR(ReadPem(key_file, "TLS private key", "PRIVATE KEY").status());
  if (!client_ca_file.empty()) RETURN_IF_ERROR(ReadPem(client_ca_file, "TLS client CA", "CERTIFICATE").status());
  return absl::OkStatus();
}

std::string TlsConfig::Describe() const {
  if (!enabled()) return "plaintext";
  if (client_ca_file.empty()) return "TLS";
  return absl::StrCat("mutual TLS (client certificates from CA ", client_ca_file, ")");
}

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> BuildServerCredentials(const TlsConfig& config) {
  RETURN_IF_ERROR(config.Validate());
  if (!config.enabled()) return grpc::InsecureServerCredentials();
  grpc::SslServerCredentialsOptions options(config.client_ca_file.empty()
                                                ? GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE
                                                : GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  grpc::SslServerCredentialsOptions::PemKeyCertPair pair;
  ASSIGN_OR_RETURN(pair.cert_chain, ReadPem(config.cert_file, "TLS certificate", "CERTIFICATE"));
  ASSIGN_OR_RETURN(pair.private_key, ReadPem(config.key_file, "TLS private key", "PRIVATE KEY"));
  options.pem_key_cert_pairs.push_back(std::move(pair));
  if (!config.client_ca_file.empty()) {
    ASSIGN_OR_RETURN(options.pem_root_certs, ReadPem(config.client_ca_file, "TLS client CA", "CERTIFICATE"));
  }
  return grpc::SslServerCredentials(options);
}

}  // namespace switchyard::server
