// Where the gRPC port listens, and whether that exposes an open server.
// `serve` listens on loopback by default; a container or a Kubernetes pod
// passes --host 0.0.0.0, and then an API without TLS or keys is open to
// anyone who can reach the pod, so the start-up log says so.
#pragma once

#include <optional>
#include <string>
#include "absl/strings/string_view.h"

namespace switchyard::server {

// True for "localhost", 127.0.0.0/8 and ::1 (with or without brackets).
// Any other name or address, wildcard addresses included, is not loopback.
bool IsLoopbackHost(absl::string_view host);

// How the gRPC port is secured (GrpcServerConfig's TLS and API keys).
struct PortSecurity {
  bool tls = false;
  bool client_certificates = false;  // mutual TLS: clients are authenticated
  bool api_keys = false;
};

// The warning to log at start when `host` is not loopback and the port is
// either plaintext or open to unauthenticated clients (neither API keys nor
// client certificates); nullopt when there is nothing to warn about.
std::optional<std::string> OpenServerWarning(absl::string_view host, const PortSecurity& security);

}  // namespace switchyard::server
