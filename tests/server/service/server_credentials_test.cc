#include "server/service/server_credentials.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <unistd.h>

#include <fstream>
#include <string>

namespace switchyard::server {
namespace {

std::string WriteFile(const std::string& name, const std::string& text) {
  const std::string path = testing::TempDir() + "/server_credentials_test_" + std::to_string(getpid()) + "_" + name;
  std::ofstream(path) << text;
  return path;
}

// A fresh P-256 key and a self-signed certificate for it, as PEM.
struct KeyPair {
  std::string cert_pem, key_pem;
};

std::string ToPem(auto write) {
  BIO* bio = BIO_new(BIO_s_mem());
  write(bio);
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio, &data);
  std::string pem(data, size);
  BIO_free(bio);
  return pem;
}

KeyPair MakeKeyPair() {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509* cert = X509_new();
  ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert), 0);
  X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
  X509_set_pubkey(cert, key);
  X509_NAME_add_entry_by_txt(X509_get_subject_name(cert), "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("localhost"), -1, -1, 0);
  X509_set_issuer_name(cert, X509_get_subject_name(cert));
  X509_sign(cert, key, EVP_sha256());
  KeyPair pair{ToPem([&](BIO* b) { PEM_write_bio_X509(b, cert); }),
               ToPem([&](BIO* b) { PEM_write_bio_PrivateKey(b, key, nullptr, nullptr, 0, nullptr, nullptr); })};
  X509_free(cert);
  EVP_PKEY_free(key);
  return pair;
}

TEST(TlsConfigTest, OffByDefault) {
  const TlsConfig config;
  EXPECT_FALSE(config.enabled());
  EXPECT_TRUE(config.Validate().ok());
  EXPECT_EQ(config.Describe(), "plaintext");
  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> credentials = BuildServerCredentials(config);
  ASSERT_TRUE(credentials.ok()) << credentials.status();
  EXPECT_NE(*credentials, nullptr);
}

TEST(TlsConfigTest, CertificateAndKeyComeTogether) {
  TlsConfig config;
  config.cert_file = "server.pem";
  EXPECT_EQ(config.Validate().code(), absl::StatusCode::kInvalidArgument);
  config = TlsConfig();
  config.client_ca_file = "ca.pem";
  EXPECT_EQ(config.Validate().code(), absl::StatusCode::kInvalidArgument);
}

TEST(TlsConfigTest, MissingOrNonPemFileIsNamed) {
  TlsConfig config;
  config.cert_file = "/nonexistent/server.pem";
  config.key_file = WriteFile("key.pem", "-----BEGIN PRIVATE KEY-----\n");
  absl::Status st = config.Validate();
  EXPECT_EQ(st.code(), absl::StatusCode::kNotFound);
  EXPECT_NE(st.message().find("TLS certificate file /nonexistent/server.pem"), absl::string_view::npos) << st;

  config.cert_file = WriteFile("cert.pem", "not a certificate\n");
  st = config.Validate();
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find(config.cert_file + " holds no PEM CERTIFICATE"), absl::string_view::npos) << st;
}

TEST(TlsConfigTest, DescribesMutualTls) {
  const KeyPair pair = MakeKeyPair();
  TlsConfig config;
  config.cert_file = WriteFile("c.pem", pair.cert_pem);
  config.key_file = WriteFile("k.pem", pair.key_pem);
  EXPECT_TRUE(config.Validate().ok()) << config.Validate();
  EXPECT_EQ(config.Describe(), "TLS");
  config.client_ca_file = WriteFile("ca.pem", "-----BEGIN CERTIFICATE-----\n");
  EXPECT_TRUE(config.Validate().ok());
  EXPECT_EQ(config.Describe(), "mutual TLS (client certificates from CA " + config.client_ca_file + ")");
}

// A certificate with another certificate's key used to fail only as "cannot
// listen on HOST:PORT"; now the key pair is checked first and named.
TEST(TlsConfigTest, AKeyThatIsNotTheCertificatesIsNamed) {
  const KeyPair server = MakeKeyPair(), other = MakeKeyPair();
  TlsConfig config;
  config.cert_file = WriteFile("server.pem", server.cert_pem);
  config.key_file = WriteFile("other.key", other.key_pem);
  const absl::Status st = config.Validate();
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(st.message(), "TLS private key file " + config.key_file + " is not the key of the certificate in " +
                              config.cert_file);
  config.key_file = WriteFile("server.key", server.key_pem);
  EXPECT_TRUE(config.Validate().ok()) << config.Validate();
}

TEST(TlsConfigTest, APemThatDoesNotParseIsNamed) {
  const KeyPair pair = MakeKeyPair();
  TlsConfig config;
  config.cert_file = WriteFile("broken.pem", "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n");
  config.key_file = WriteFile("k2.pem", pair.key_pem);
  EXPECT_EQ(config.Validate().message(), "TLS certificate file " + config.cert_file + " does not parse as PEM X.509");
  config.cert_file = WriteFile("c2.pem", pair.cert_pem);
  config.key_file = WriteFile("broken.key", "-----BEGIN PRIVATE KEY-----\nnot base64\n-----END PRIVATE KEY-----\n");
  EXPECT_EQ(config.Validate().message(),
            "TLS private key file " + config.key_file + " does not parse as an unencrypted PEM private key");
}

}  // namespace
}  // namespace switchyard::server
