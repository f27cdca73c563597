#include "tools/cli/connection.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace switchyard::cli {
namespace {

absl::StatusOr<std::string> Read(const std::string& path, absl::string_view what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", what, " file ", path, ": ", std::strerror(errno)));
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

absl::StatusOr<std::shared_ptr<grpc::Channel>> OpenChannel(const ConnectionOptions& options) {
  if (!options.UsesTls()) return grpc::CreateChannel(options.address, grpc::InsecureChannelCredentials());
  if (options.cert_file.empty() != options.key_file.empty()) {
    return absl::InvalidArgumentError("a TLS client certificate needs its private key file, and the other way round");
  }
  grpc::SslCredentialsOptions ssl;
  if (!options.ca_file.empty()) {
    absl::StatusOr<std::string> ca = Read(options.ca_file, "TLS CA");
    if (!ca.ok()) return ca.status();
    ssl.pem_root_certs = *std::move(ca);
  }
  if (!options.cert_file.empty()) {
    absl::StatusOr<std::string> cert = Read(options.cert_file, "TLS client certificate");
    if (!cert.ok()) return cert.status();
    absl::StatusOr<std::string> key = Read(options.key_file, "TLS client key");
    if (!key.ok()) return key.status();
    ssl.pem_cert_chain = *std::move(cert);
    ssl.pem_private_key = *std::move(key);
  }
  grpc::ChannelArguments args;
  if (!options.server_name.empty()) args.SetSslTargetNameOverride(options.server_name);
  return grpc::CreateCustomChannel(options.address, grpc::SslCredentials(ssl), args);
}

absl::StatusOr<std::string> LoadApiKey(const std::string& file, const char* env_value) {
  if (file.empty()) return std::string(absl::StripAsciiWhitespace(env_value == nullptr ? "" : env_value));
  absl::StatusOr<std::string> text = Read(file, "API key");
  if (!text.ok()) return text.status();
  const std::string key(absl::StripAsciiWhitespace(*text));
  if (key.empty() || absl::StrContains(key, "\n")) {
    return absl::InvalidArgumentError(absl::StrCat("API key file ", file, " must hold exactly one key, on one line"));
  }
  return key;
}

}  // namespace switchyard::cli
