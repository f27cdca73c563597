#include "server/service/listen_address.h"

#include <arpa/inet.h>

#include "absl/strings/str_cat.h"

namespace switchyard::server {

bool IsLoopbackHost(absl::string_view host) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (host == "localhost") return true;
  const std::string address(host);
  in_addr v4{};
  if (inet_pton(AF_INET, address.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  if (inet_pton(AF_INET6, address.c_str(), &v6) == 1) return IN6_IS_ADDR_LOOPBACK(&v6);
  return false;
}

std::optional<std::string> OpenServerWarning(absl::string_view host, const PortSecurity& security) {
  if (IsLoopbackHost(host)) return std::nullopt;
  const bool authenticated = security.api_keys || security.client_certificates;
  if (security.tls && authenticated) return std::nullopt;
  const char* what = !security.tls && !authenticated ? "without TLS or API keys: anyone who reaches the port can use the API"
                     : !security.tls                 ? "without TLS: API keys and prompts cross the network in plaintext"
                                                     : "without API keys or client certificates: anyone who reaches the port can use the API";
  return absl::StrCat("serving ", host, " beyond this machine ", what,
                      " (--tls-cert-file, --tls-client-ca-file, --api-key-file)");
}

}  // namespace switchyard::server
