#include "engine/tokenizer/post_processor.h"

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "engine/tokenizer/json_util.h"
#include "nlohmann/json.hpp"

namespace switchyard::engine::tok {
namespace {

constexpr char kSupported[] =
    "TemplateProcessing, ByteLevel, RobertaProcessing, BertProcessing, Sequence";

// The "single" template: special tokens before and after "$A".
absl::StatusOr<SpecialWrap> Template(const nlohmann::json& json) {
  ASSIGN_OR_RETURN(const nlohmann::json* single, ArrayField(json, "single"));
  const auto specials = json.find("special_tokens");
  SpecialWrap wrap;
  bool seen_sequence = false;
  for (const auto& piece : *single) {
    if (piece.contains("Sequence")) {
      if (piece["Sequence"].value("id", "") != "A" || seen_sequence) {
        return absl::UnimplementedError(
            "TemplateProcessing single template must hold sequence $A once");
      }
      seen_sequence = true;
      continue;
    }
    if (!piece.contains("SpecialToken")) {
      return absl::InvalidArgumentError(absl::StrCat("bad template piece ", piece.dump()));
    }
    const std::string name = piece["SpecialToken"].value("id", "");
    if (specials == json.end() || !specials->contains(name)) {
      return absl::InvalidArgumentError(
          absl::StrCat("template special token '", name, "' is not in special_tokens"));
    }
    ASSIGN_OR_RETURN(const nlohmann::json* ids, ArrayField((*specials)[name], "ids"));
    auto& side = seen_sequence ? wrap.suffix : wrap.prefix;
    for (const auto& id : *ids) side.push_back(id.get<int32_t>());
  }
  if (!seen_sequence) {
    return absl::UnimplementedError("TemplateProcessing single template has no $A");
  }
  return wrap;
}

// Roberta and Bert: [cls] $A [sep], written as ["<s>", 0] pairs.
absl::StatusOr<SpecialWrap> ClsSep(const nlohmann::json& json) {
  SpecialWrap wrap;
  for (const char* key : {"cls", "sep"}) {
    ASSIGN_OR_RETURN(const nlohmann::json* pair, ArrayField(json, key));
    if (pair->size() != 2 || !(*pair)[1].is_number_integer()) {
      return absl::InvalidArgumentError(absl::StrCat("bad \"", key, "\" in post_processor"));
    }
    (std::string_view(key) == "cls" ? wrap.prefix : wrap.suffix).push_back((*pair)[1].get<int32_t>());
  }
  return wrap;
}

}  // namespace

absl::StatusOr<SpecialWrap> PostProcessorFromJson(const nlohmann::json& json) {
  if (json.is_null()) return SpecialWrap();
  ASSIGN_OR_RETURN(const std::string type, TypeOf(json, "post_processor"));
  if (type == "TemplateProcessing") return Template(json);
  if (type == "ByteLevel") return SpecialWrap();  // only trims offsets
  if (type == "RobertaProcessing" || type == "BertProcessing") return ClsSep(json);
  if (type == "Sequence") {
    // Each processor wraps what the previous one produced.
    SpecialWrap wrap;
    ASSIGN_OR_RETURN(const nlohmann::json* list, ArrayField(json, "processors"));
    for (const auto& item : *list) {
      ASSIGN_OR_RETURN(SpecialWrap inner, PostProcessorFromJson(item));
      wrap.prefix.insert(wrap.prefix.begin(), inner.prefix.begin(), inner.prefix.end());
      wrap.suffix.insert(wrap.suffix.end(), inner.suffix.begin(), inner.suffix.end());
    }
    return wrap;
  }
  return Unsupported("post_processor", type, kSupported);
}

}  // namespace switchyard::engine::tok
