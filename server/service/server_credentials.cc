#include "server/service/server_credentials.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <memory>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
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

template <typename T, void (*Free)(T*)>
struct OpenSslDeleter {
  void operator()(T* p) const { Free(p); }
};
using Bio = std::unique_ptr<BIO, OpenSslDeleter<BIO, BIO_free_all>>;
using X509Ptr = std::unique_ptr<X509, OpenSslDeleter<X509, X509_free>>;
using KeyPtr = std::unique_ptr<EVP_PKEY, OpenSslDeleter<EVP_PKEY, EVP_PKEY_free>>;

// The certificate (the chain's first) and the private key parse, and the key
// is the certificate's: else gRPC fails later with only "cannot listen".
absl::Status CheckKeyPair(const std::string& cert_pem, const std::string& cert_file, const std::string& key_pem,
                          const std::string& key_file) {
  Bio cert_bio(BIO_new_mem_buf(cert_pem.data(), static_cast<int>(cert_pem.size())));
  X509Ptr cert(PEM_read_bio_X509(cert_bio.get(), nullptr, nullptr, nullptr));
  if (cert == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("TLS certificate file ", cert_file, " does not parse as PEM X.509"));
  }
  Bio key_bio(BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size())));
  KeyPtr key(PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr));
  if (key == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("TLS private key file ", key_file, " does not parse as an unencrypted PEM private key"));
  }
  if (X509_check_private_key(cert.get(), key.get()) != 1) {
    return absl::InvalidArgumentError(absl::StrCat("TLS private key file ", key_file,
                                                   " is not the key of the certificate in ", cert_file));
  }
  return absl::OkStatus();
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
  ASSIGN_OR_RETURN(const std::string cert, ReadPem(cert_file, "TLS certificate", "CERTIFICATE"));
  ASSIGN_OR_RETURN(const std::string key, ReadPem(key_file, "TLS private key", "PRIVATE KEY"));
  RETURN_IF_ERROR(CheckKeyPair(cert, cert_file, key, key_file));
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
