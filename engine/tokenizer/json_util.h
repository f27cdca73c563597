// Small checked accessors for tokenizer.json objects, so that a malformed or
// unexpected file gives a message naming the field instead of a JSON throw.
#pragma once

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "nlohmann/json_fwd.hpp"

namespace switchyard::engine::tok {

// The "type" string of a component; `what` names the component in errors.
absl::StatusOr<std::string> TypeOf(const nlohmann::json& json, std::string_view what);

absl::StatusOr<const nlohmann::json*> Field(const nlohmann::json& json, std::string_view key);
absl::StatusOr<const nlohmann::json*> ArrayField(const nlohmann::json& json, std::string_view key);
absl::StatusOr<std::string> StringField(const nlohmann::json& json, std::string_view key);
// A missing or null field reads as `fallback`.
absl::StatusOr<bool> BoolField(const nlohmann::json& json, std::string_view key, bool fallback);
absl::StatusOr<int64_t> IntField(const nlohmann::json& json, std::string_view key, int64_t fallback);

// "unsupported normalizer 'NFKC' in tokenizer.json; supported: ...".
absl::Status Unsupported(std::string_view kind, std::string_view type, std::string_view supported);

}  // namespace switchyard::engine::tok
