#include "server/service/server_credentials.h"

#include <gtest/gtest.h>
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
  TlsConfig config;
  config.cert_file = WriteFile("c.pem", "-----BEGIN CERTIFICATE-----\n");
  config.key_file = WriteFile("k.pem", "-----BEGIN EC PRIVATE KEY-----\n");
  EXPECT_TRUE(config.Validate().ok());
  EXPECT_EQ(config.Describe(), "TLS");
  config.client_ca_file = WriteFile("ca.pem", "-----BEGIN CERTIFICATE-----\n");
  EXPECT_TRUE(config.Validate().ok());
  EXPECT_EQ(config.Describe(), "mutual TLS (client certificates from CA " + config.client_ca_file + ")");
}

}  // namespace
}  // namespace switchyard::server
