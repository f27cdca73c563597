// The real `switchyard serve` and `switchyard-cli` binaries on loopback with
// TLS, mutual TLS and API keys: the right credentials work, the wrong ones
// and none are refused, health needs no key, and a missing file is named.
// The certificates are made at test time with the openssl command.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "tests/tools/processes.h"

namespace {

using switchyard::test::kBinaryDir;
using switchyard::test::ProcessResult;
using switchyard::test::ServerProcess;
using switchyard::test::TempFile;

class CliSecurityTest : public testing::Test {
 protected:
  // Two CAs, a server certificate for 127.0.0.1 and localhost from the
  // first, a client certificate from each: ca, server, client, stranger.
  static void SetUpTestSuite() {
    dir_ = TempFile("pki");
    ASSERT_EQ(mkdir(dir_.c_str(), 0700), 0) << dir_;
    ASSERT_NO_FATAL_FAILURE(MakeCa("ca"));
    ASSERT_NO_FATAL_FAILURE(MakeCa("other_ca"));
    ASSERT_NO_FATAL_FAILURE(MakeLeaf("server", "ca", "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
                                                     "extendedKeyUsage=serverAuth\n", 2));
    ASSERT_NO_FATAL_FAILURE(MakeLeaf("client", "ca", "extendedKeyUsage=clientAuth\n", 3));
    ASSERT_NO_FATAL_FAILURE(MakeLeaf("stranger", "other_ca", "extendedKeyUsage=clientAuth\n", 4));
    std::ofstream(Path("keys.txt")) << "# team A\nkey-alpha\n\nkey-beta\n";
    std::ofstream(Path("beta.key")) << "key-beta\n";
  }

  static std::string Path(const std::string& name) { return dir_ + "/" + name; }

  static void Openssl(const std::string& args) {
    const std::string log = Path("openssl.log");
    const std::string command = "cd '" + dir_ + "' && openssl " + args + " >'" + log + "' 2>&1";
    ASSERT_EQ(std::system(command.c_str()), 0) << command << "\n" << switchyard::test::ReadFile(log);
  }

  static void MakeCa(const std::string& name) {
    Openssl("req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -keyout " + name +
            ".key -out " + name + ".pem -subj /CN=" + name +
            " -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign");
  }

  static void MakeLeaf(const std::string& name, const std::string& ca, const std::string& extensions, int serial) {
    std::ofstream(Path(name + ".ext")) << extensions;
    Openssl("req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout " + name + ".key -out " + name +
            ".csr -subj /CN=" + name);
    Openssl("x509 -req -days 2 -in " + name + ".csr -CA " + ca + ".pem -CAkey " + ca + ".key -set_serial " +
            std::to_string(serial) + " -extfile " + name + ".ext -out " + name + ".pem");
  }

  // switchyard-cli `args` against `server`, with `env` ("NAME=value") added.
  static ProcessResult Cli(const ServerProcess& server, std::vector<std::string> args,
                           const std::vector<std::string>& env = {}) {
    args.insert(args.begin(), {kBinaryDir + "/switchyard-cli", "--addr=" + server.address(), "--timeout=10s"});
    return switchyard::test::Run(args, env);
  }

  static std::vector<std::string> Generate(std::vector<std::string> flags = {}) {
    flags.insert(flags.begin(), {"generate", "--prompt=The yard master", "--max-tokens=4", "--temperature=0"});
    return flags;
  }

  static void ExpectGenerated(const ProcessResult& r) {
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.err.find("completion tokens: 4"), std::string::npos) << r.err;
  }

  static inline std::string dir_;
};

TEST_F(CliSecurityTest, TlsServerTalksToClientsThatTrustItsCa) {
  ServerProcess server("tls");
  ASSERT_TRUE(server.Start({"--tls-cert-file=" + Path("server.pem"), "--tls-key-file=" + Path("server.key")}))
      << server.log();
  EXPECT_NE(server.log().find("security: TLS; no API keys"), std::string::npos) << server.log();

  ExpectGenerated(Cli(server, Generate({"--tls-ca-file=" + Path("ca.pem")})));
  // The certificate names localhost too.
  ExpectGenerated(Cli(server, Generate({"--tls-ca-file=" + Path("ca.pem"), "--tls-server-name=localhost"})));
  ProcessResult health = Cli(server, {"health", "--tls-ca-file=" + Path("ca.pem")});
  EXPECT_EQ(health.exit_code, 0) << health.err;
  EXPECT_EQ(health.out, "SERVING\n");

  ProcessResult plaintext = Cli(server, Generate());
  EXPECT_EQ(plaintext.exit_code, 1);
  EXPECT_NE(plaintext.err.find("UNAVAILABLE"), std::string::npos) << plaintext.err;
  // A server whose certificate does not chain to the CA the client trusts.
  ProcessResult untrusted = Cli(server, Generate({"--tls-ca-file=" + Path("other_ca.pem")}));
  EXPECT_EQ(untrusted.exit_code, 1);
  EXPECT_NE(untrusted.err.find("UNAVAILABLE"), std::string::npos) << untrusted.err;
  // Nor one whose certificate does not carry the name asked for.
  ProcessResult misnamed =
      Cli(server, Generate({"--tls-ca-file=" + Path("ca.pem"), "--tls-server-name=example.com"}));
  EXPECT_EQ(misnamed.exit_code, 1) << misnamed.err;
  EXPECT_NE(misnamed.err.find("UNAVAILABLE"), std::string::npos) << misnamed.err;
  EXPECT_EQ(server.Stop(), 0) << server.log();
}

TEST_F(CliSecurityTest, MutualTlsWantsAClientCertificateFromItsCa) {
  ServerProcess server("mtls");
  ASSERT_TRUE(server.Start({"--tls-cert-file=" + Path("server.pem"), "--tls-key-file=" + Path("server.key"),
                            "--tls-client-ca-file=" + Path("ca.pem")}))
      << server.log();
  EXPECT_NE(server.log().find("security: mutual TLS"), std::string::npos) << server.log();
  const std::string trust = "--tls-ca-file=" + Path("ca.pem");

  ExpectGenerated(Cli(server, Generate({trust, "--tls-cert-file=" + Path("client.pem"),
                                        "--tls-key-file=" + Path("client.key")})));

  ProcessResult anonymous = Cli(server, Generate({trust}));
  EXPECT_EQ(anonymous.exit_code, 1);
  EXPECT_NE(anonymous.err.find("UNAVAILABLE"), std::string::npos) << anonymous.err;
  ProcessResult stranger = Cli(server, Generate({trust, "--tls-cert-file=" + Path("stranger.pem"),
                                                 "--tls-key-file=" + Path("stranger.key")}));
  EXPECT_EQ(stranger.exit_code, 1);
  EXPECT_NE(stranger.err.find("UNAVAILABLE"), std::string::npos) << stranger.err;
  EXPECT_EQ(server.Stop(), 0) << server.log();
}

TEST_F(CliSecurityTest, ApiKeysGuardTheApiButNotHealth) {
  ServerProcess server("keys");
  ASSERT_TRUE(server.Start({"--api-key-file=" + Path("keys.txt")})) << server.log();
  EXPECT_NE(server.log().find("security: plaintext; API keys required"), std::string::npos) << server.log();

  ProcessResult none = Cli(server, Generate());
  EXPECT_EQ(none.exit_code, 1);
  EXPECT_NE(none.err.find("UNAUTHENTICATED: this server requires an API key: send metadata "
                          "'authorization: Bearer <key>'"),
            std::string::npos)
      << none.err;
  ProcessResult wrong = Cli(server, Generate(), {"SWITCHYARD_API_KEY=key-gamma"});
  EXPECT_EQ(wrong.exit_code, 1);
  EXPECT_NE(wrong.err.find("UNAUTHENTICATED: invalid API key"), std::string::npos) << wrong.err;
  ProcessResult info = Cli(server, {"model-info"});  // every method, not only generation
  EXPECT_NE(info.err.find("UNAUTHENTICATED"), std::string::npos) << info.err;

  ExpectGenerated(Cli(server, Generate(), {"SWITCHYARD_API_KEY=key-alpha"}));
  ExpectGenerated(Cli(server, Generate({"--api-key-file=" + Path("beta.key")})));
  ProcessResult health = Cli(server, {"health"});
  EXPECT_EQ(health.exit_code, 0) << health.err;
  EXPECT_EQ(health.out, "SERVING\n");

  EXPECT_EQ(server.log().find("key-alpha"), std::string::npos) << "a key was logged:\n" << server.log();
  EXPECT_EQ(server.log().find("key-gamma"), std::string::npos) << "a key was logged:\n" << server.log();
  EXPECT_EQ(server.Stop(), 0) << server.log();
}

TEST_F(CliSecurityTest, ServerWillNotStartWithoutItsFiles) {
  ServerProcess no_cert("no_cert");
  EXPECT_FALSE(no_cert.Start({"--tls-cert-file=" + Path("missing.pem"), "--tls-key-file=" + Path("server.key")}));
  EXPECT_NE(no_cert.exit_code(), 0);
  EXPECT_NE(no_cert.log().find("cannot read TLS certificate file " + Path("missing.pem")), std::string::npos)
      << no_cert.log();

  ServerProcess no_keys("no_keys");
  EXPECT_FALSE(no_keys.Start({"--api-key-file=" + Path("missing.txt")}));
  EXPECT_NE(no_keys.exit_code(), 0);
  EXPECT_NE(no_keys.log().find("cannot read API key file " + Path("missing.txt")), std::string::npos)
      << no_keys.log();
}

TEST_F(CliSecurityTest, CliNamesAMissingFile) {
  const std::string cli = kBinaryDir + "/switchyard-cli";
  ProcessResult ca = switchyard::test::Run({cli, "health", "--tls-ca-file=" + Path("missing_ca.pem")});
  EXPECT_EQ(ca.exit_code, 2);
  EXPECT_NE(ca.err.find("cannot read TLS CA file " + Path("missing_ca.pem")), std::string::npos) << ca.err;
  ProcessResult key = switchyard::test::Run({cli, "generate", "--prompt=x", "--api-key-file=" + Path("nokey")});
  EXPECT_EQ(key.exit_code, 2);
  EXPECT_NE(key.err.find("cannot read API key file " + Path("nokey")), std::string::npos) << key.err;
  ProcessResult half = switchyard::test::Run({cli, "health", "--tls-cert-file=" + Path("client.pem")});
  EXPECT_EQ(half.exit_code, 2);
  EXPECT_NE(half.err.find("private key"), std::string::npos) << half.err;
}

}  // namespace
