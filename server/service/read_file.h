// Reads the small files the server is configured with (TLS certificates and
// keys, API keys) whole, with an error that names the file and what it is
// for, so that a wrong path in a flag is found at start.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace switchyard::server {

// `what` names the file's role in the message, e.g. "TLS certificate".
absl::StatusOr<std::string> ReadConfigFile(const std::string& path, absl::string_view what);

}  // namespace switchyard::server
