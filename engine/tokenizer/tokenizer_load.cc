// Loading a Tokenizer from tokenizer.json (and tokenizer_config.json).
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "engine/tokenizer/added_vocabulary.h"
#include "engine/tokenizer/bpe_model.h"
#include "engine/tokenizer/decoder.h"
#include "engine/tokenizer/normalizer.h"
#include "engine/tokenizer/post_processor.h"
#include "engine/tokenizer/pre_tokenizer.h"
#include "engine/tokenizer/tokenizer.h"
#include "engine/tokenizer/absl_view.h"
#include "nlohmann/json.hpp"

namespace switchyard::engine {
namespace {

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open ", path));
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

absl::StatusOr<nlohmann::json> ParseJson(std::string_view text, std::string_view what) {
  nlohmann::json json = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) return absl::InvalidArgumentError(absl::StrCat(tok::AbslView(what), " is not valid JSON"));
  return json;
}

const nlohmann::json& Member(const nlohmann::json& json, const char* key) {
  static const nlohmann::json* null = new nlohmann::json();
  const auto it = json.find(key);
  return it == json.end() ? *null : *it;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Tokenizer>> Tokenizer::FromFile(const std::string& path) {
  ASSIGN_OR_RETURN(const std::string json, ReadFile(path));
  const auto config_path = std::filesystem::path(path).parent_path() / "tokenizer_config.json";
  std::string config;
  if (std::filesystem::exists(config_path)) {
    ASSIGN_OR_RETURN(config, ReadFile(config_path.string()));
  }
  auto tokenizer = FromJson(json, config);
  if (!tokenizer.ok()) {
    return absl::Status(tokenizer.status().code(),
                        absl::StrCat(path, ": ", tokenizer.status().message()));
  }
  return tokenizer;
}

absl::StatusOr<std::unique_ptr<Tokenizer>> Tokenizer::FromModelDir(const std::string& dir) {
  return FromFile((std::filesystem::path(dir) / "tokenizer.json").string());
}

absl::StatusOr<std::unique_ptr<Tokenizer>> Tokenizer::FromJson(std::string_view tokenizer_json,
                                                               std::string_view config_json) {
  // The component readers check what they rely on; this catches a value of
  // an unexpected JSON type anywhere else.
  try {
    return Load(tokenizer_json, config_json);
  } catch (const nlohmann::json::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("malformed tokenizer.json: ", e.what()));
  }
}

absl::StatusOr<std::unique_ptr<Tokenizer>> Tokenizer::Load(std::string_view tokenizer_json,
                                                           std::string_view config_json) {
  ASSIGN_OR_RETURN(const nlohmann::json json, ParseJson(tokenizer_json, "tokenizer.json"));
  if (!json.is_object()) return absl::InvalidArgumentError("tokenizer.json is not an object");
  std::unique_ptr<Tokenizer> t(new Tokenizer());
  // "truncation" and "padding" are batch-shaping settings, not tokenization:
  // the server bounds lengths itself, so Encode neither truncates nor pads.
  ASSIGN_OR_RETURN(t->normalizer_, tok::NormalizerFromJson(Member(json, "normalizer")));
  ASSIGN_OR_RETURN(t->pre_tokenizer_, tok::PreTokenizerFromJson(Member(json, "pre_tokenizer")));
  ASSIGN_OR_RETURN(t->model_, tok::BpeModel::FromJson(Member(json, "model")));
  ASSIGN_OR_RETURN(t->added_, tok::AddedVocabulary::FromJson(Member(json, "added_tokens"),
                                                             *t->model_, t->normalizer_.get()));
  t->decoder_traits_ = std::make_unique<tok::DecoderTraits>();
  ASSIGN_OR_RETURN(t->decoder_,
                   tok::DecoderFromJson(Member(json, "decoder"), t->decoder_traits_.get()));
  ASSIGN_OR_RETURN(tok::SpecialWrap wrap, tok::PostProcessorFromJson(Member(json, "post_processor")));
  t->wrap_ = std::make_unique<tok::SpecialWrap>(std::move(wrap));
  // Encode emits these ids as written: one that names no token would reach
  // the model past the end of its vocabulary (and its embedding table).
  for (const std::vector<int32_t>* side : {&t->wrap_->prefix, &t->wrap_->suffix}) {
    for (const int32_t id : *side) {
      if (t->IdToToken(id) == nullptr) {
        return absl::InvalidArgumentError(
            absl::StrCat("post_processor special token id ", id, " is not in the vocabulary"));
      }
    }
  }
  // Without a config, the post-processor's first and last special tokens
  // are the best guess at BOS and EOS.
  if (!t->wrap_->prefix.empty()) t->bos_id_ = t->wrap_->prefix.front();
  if (!t->wrap_->suffix.empty()) t->eos_id_ = t->wrap_->suffix.back();
  if (!config_json.empty()) RETURN_IF_ERROR(t->ReadConfig(config_json));
  return t;
}

// tokenizer_config.json names bos_token / eos_token as a string or as an
// {"content": ...} object; it overrides the post-processor's guess.
absl::Status Tokenizer::ReadConfig(std::string_view config_json) {
  ASSIGN_OR_RETURN(const nlohmann::json config, ParseJson(config_json, "tokenizer_config.json"));
  for (const auto& [key, target] :
       {std::pair{"bos_token", &bos_id_}, std::pair{"eos_token", &eos_id_}}) {
    const nlohmann::json& value = Member(config, key);
    std::string name;
    if (value.is_string()) {
      name = value.get<std::string>();
    } else if (value.is_object() && Member(value, "content").is_string()) {
      name = value["content"].get<std::string>();
    } else {
      continue;
    }
    const auto id = TokenToId(name);
    if (!id.has_value()) {
      return absl::InvalidArgumentError(
          absl::StrCat("tokenizer_config.json ", key, " '", name, "' is not a token"));
    }
    *target = *id;
  }
  return absl::OkStatus();
}

}  // namespace switchyard::engine
