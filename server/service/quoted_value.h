// A client's value quoted in an error message, cut to a bounded length:
// the message travels back in the grpc-message trailer, and a 16 KiB model
// name echoed whole would exceed the client's metadata limit and turn a
// NOT_FOUND into RESOURCE_EXHAUSTED (or make a 3 MB message of a 3 MB value).
#pragma once

#include <cstddef>
#include <string>
#include "absl/strings/string_view.h"

namespace switchyard::server {

inline constexpr size_t kMaxQuotedBytes = 100;

// `"value"` when it fits in `max_bytes`; else its first bytes, cut at a UTF-8
// character boundary, then `..." (N bytes)`.
std::string QuotedValue(absl::string_view value, size_t max_bytes = kMaxQuotedBytes);

}  // namespace switchyard::server
