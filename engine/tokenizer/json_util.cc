#include "engine/tokenizer/json_util.h"
#include "engine/tokenizer/absl_view.h"

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"

namespace switchyard::engine::tok {

absl::StatusOr<std::string> TypeOf(const nlohmann::json& json, std::string_view what) {
  if (!json.is_object()) {
    return absl::InvalidArgumentError(
        absl::StrCat(AbslView(what), " in tokenizer.json is not an object: ", json.dump()));
  }
  const auto it = json.find("type");
  if (it == json.end() || !it->is_string()) {
    return absl::InvalidArgumentError(absl::StrCat(AbslView(what), " in tokenizer.json has no \"type\""));
  }
  return it->get<std::string>();
}

absl::StatusOr<const nlohmann::json*> Field(const nlohmann::json& json, std::string_view key) {
  const auto it = json.find(key);
  if (it == json.end()) {
    return absl::InvalidArgumentError(
        absl::StrCat("missing field \"", AbslView(key), "\" in tokenizer.json object ", json.dump().substr(0, 200)));
  }
  return &*it;
}

absl::StatusOr<const nlohmann::json*> ArrayField(const nlohmann::json& json, std::string_view key) {
  auto field = Field(json, key);
  if (field.ok() && !(*field)->is_array()) {
    return absl::InvalidArgumentError(absl::StrCat("field \"", AbslView(key), "\" in tokenizer.json is not a list"));
  }
  return field;
}

absl::StatusOr<std::string> StringField(const nlohmann::json& json, std::string_view key) {
  auto field = Field(json, key);
  if (!field.ok()) return field.status();
  if (!(*field)->is_string()) {
    return absl::InvalidArgumentError(absl::StrCat("field \"", AbslView(key), "\" in tokenizer.json is not a string"));
  }
  return (*field)->get<std::string>();
}

absl::StatusOr<bool> BoolField(const nlohmann::json& json, std::string_view key, bool fallback) {
  const auto it = json.find(key);
  if (it == json.end() || it->is_null()) return fallback;
  if (!it->is_boolean()) {
    return absl::InvalidArgumentError(absl::StrCat("field \"", AbslView(key), "\" in tokenizer.json is not a bool"));
  }
  return it->get<bool>();
}

absl::StatusOr<int64_t> IntField(const nlohmann::json& json, std::string_view key, int64_t fallback) {
  const auto it = json.find(key);
  if (it == json.end() || it->is_null()) return fallback;
  if (!it->is_number_integer()) {
    return absl::InvalidArgumentError(absl::StrCat("field \"", AbslView(key), "\" in tokenizer.json is not an integer"));
  }
  return it->get<int64_t>();
}

absl::Status Unsupported(std::string_view kind, std::string_view type, std::string_view supported) {
  return absl::UnimplementedError(absl::StrCat("unsupported ", AbslView(kind), " '", AbslView(type),
                                               "' in tokenizer.json; supported: ", AbslView(supported)));
}

}  // namespace switchyard::engine::tok
