#include "server/service/listen_address.h"

#include <gtest/gtest.h>

namespace switchyard::server {
namespace {

TEST(IsLoopbackHostTest, LoopbackNamesAndAddresses) {
  for (const char* host : {"localhost", "127.0.0.1", "127.1.2.3", "::1", "[::1]", "0:0:0:0:0:0:0:1"}) {
    EXPECT_TRUE(IsLoopbackHost(host)) << host;
  }
}

TEST(IsLoopbackHostTest, EverythingElseIsNot) {
  for (const char* host : {"0.0.0.0", "::", "[::]", "10.0.0.1", "128.0.0.1", "192.168.1.1", "example.com",
                           "localhost.example.com", "127.0.0.1.nip.io", "::ffff:127.0.0.1x", ""}) {
    EXPECT_FALSE(IsLoopbackHost(host)) << host;
  }
}

TEST(OpenServerWarningTest, NoneOnLoopbackWhateverTheSecurity) {
  EXPECT_EQ(OpenServerWarning("127.0.0.1", {}), std::nullopt);
  EXPECT_EQ(OpenServerWarning("localhost", {}), std::nullopt);
}

TEST(OpenServerWarningTest, NoneBeyondLoopbackWithTlsAndAuthentication) {
  EXPECT_EQ(OpenServerWarning("0.0.0.0", {.tls = true, .api_keys = true}), std::nullopt);
  EXPECT_EQ(OpenServerWarning("0.0.0.0", {.tls = true, .client_certificates = true}), std::nullopt);
}

TEST(OpenServerWarningTest, SaysWhatIsMissing) {
  EXPECT_EQ(OpenServerWarning("0.0.0.0", {}),
            "serving 0.0.0.0 beyond this machine without TLS or API keys: anyone who reaches the port can use "
            "the API (--tls-cert-file, --tls-client-ca-file, --api-key-file)");
  EXPECT_NE(OpenServerWarning("10.0.0.5", {.api_keys = true})->find("without TLS: API keys and prompts"),
            std::string::npos);
  EXPECT_NE(OpenServerWarning("::", {.tls = true})->find("without API keys or client certificates"),
            std::string::npos);
}

}  // namespace
}  // namespace switchyard::server
