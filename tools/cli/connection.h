// How switchyard-cli reaches the server: plaintext, or TLS with the server's
// certificate checked against the system roots or a given CA (and, for
// mutual TLS, a client certificate of our own); and the API key it sends.
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "grpcpp/grpcpp.h"

namespace switchyard::cli {

struct ConnectionOptions {
  std::string address;        // host:port
  bool tls = false;           // also implied by any file below
  std::string ca_file;        // PEM CAs the server's certificate must chain to; empty = system roots
  std::string cert_file;      // PEM client certificate (mutual TLS), with key_file
  std::string key_file;
  std::string server_name;    // name the server's certificate must carry; empty = the host in address

  bool UsesTls() const { return tls || !ca_file.empty() || !cert_file.empty() || !key_file.empty(); }
};

// A channel (connected lazily); an error naming the file when one cannot be
// read, or a certificate comes without its key.
absl::StatusOr<std::shared_ptr<grpc::Channel>> OpenChannel(const ConnectionOptions& options);

// The API key: the one line of `file` if given, else `env_value` (from
// $SWITCHYARD_API_KEY, may be null); empty = none. Not a flag value, which
// other users could read in `ps` and the shell history.
absl::StatusOr<std::string> LoadApiKey(const std::string& file, const char* env_value);

}  // namespace switchyard::cli
