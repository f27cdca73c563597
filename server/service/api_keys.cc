#include "server/service/api_keys.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/status_macros.h"
#include "server/service/read_file.h"

namespace switchyard::server {
namespace {

constexpr absl::string_view kBearer = "bearer ";

// 0 when equal. Walks all of `given`, wrapping around `key` (never empty),
// with no early exit, so the time depends on `given`'s length alone (which
// the caller knows anyway).
unsigned Difference(absl::string_view given, absl::string_view key) {
  unsigned diff = given.size() != key.size() ? 1u : 0u;
  for (size_t i = 0; i < given.size(); ++i) {
    diff |= static_cast<unsigned char>(given[i]) ^ static_cast<unsigned char>(key[i % key.size()]);
  }
  return diff;
}

}  // namespace

absl::StatusOr<ApiKeys> ApiKeys::Parse(absl::string_view text, absl::string_view source) {
  std::vector<std::string> keys;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || absl::StartsWith(line, "#")) continue;
    keys.emplace_back(line);
  }
  if (keys.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("API key file ", source, " holds no key (one per line; '#' starts a comment)"));
  }
  return ApiKeys(std::move(keys));
}

absl::StatusOr<ApiKeys> ApiKeys::LoadFile(const std::string& path) {
  ASSIGN_OR_RETURN(std::string text, ReadConfigFile(path, "API key"));
  return Parse(text, path);
}

bool ApiKeys::Contains(absl::string_view key) const {
  bool found = false;  // no early exit: every key is compared
  for (const std::string& k : keys_) found |= Difference(key, k) == 0;
  return found;
}

absl::Status ApiKeys::Check(const std::multimap<grpc::string_ref, grpc::string_ref>& client_metadata) const {
  const auto it = client_metadata.find("authorization");
  if (it == client_metadata.end()) {
    return absl::UnauthenticatedError(
        "this server requires an API key: send metadata 'authorization: Bearer <key>' "
        "(switchyard-cli: --api-key-file or $SWITCHYARD_API_KEY)");
  }
  const absl::string_view value(it->second.data(), it->second.size());
  if (value.size() < kBearer.size() || !absl::EqualsIgnoreCase(value.substr(0, kBearer.size()), kBearer)) {
    return absl::UnauthenticatedError("the authorization metadata must be 'Bearer <key>'");
  }
  if (!Contains(absl::StripAsciiWhitespace(value.substr(kBearer.size())))) {
    return absl::UnauthenticatedError("invalid API key");
  }
  return absl::OkStatus();
}

}  // namespace switchyard::server
