#include "engine/model_config.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "common/status_macros.h"
#include "nlohmann/json.hpp"

namespace switchyard::engine {
namespace {

using json = nlohmann::json;

struct ArchEntry {
  const char* name;
  Architecture arch;
};
constexpr ArchEntry kArchitectures[] = {
    {"MixtralForCausalLM", Architecture::kMixtral},
    {"Qwen2MoeForCausalLM", Architecture::kQwen2Moe},
    {"Qwen3MoeForCausalLM", Architecture::kQwen3Moe},
    {"OlmoeForCausalLM", Architecture::kOlmoe},
};

absl::Status FieldError(absl::string_view field, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("config.json: field '", field, "' ", what));
}

// Reads an integer field; a missing or null field yields `fallback` when given.
absl::StatusOr<int> GetInt(const json& j, const char* field, std::optional<int> fallback = {}) {
  auto it = j.find(field);
  if (it == j.end() || it->is_null()) {
    if (fallback) return *fallback;
    return FieldError(field, "is required");
  }
  if (!it->is_number_integer()) return FieldError(field, absl::StrCat("must be an integer, got ", it->dump()));
  const int64_t v = it->get<int64_t>();
  if (v < 0 || v > (int64_t{1} << 31) - 1) return FieldError(field, absl::StrCat("is out of range: ", v));
  return static_cast<int>(v);
}

absl::StatusOr<double> GetNumber(const json& j, const char* field, double fallback) {
  auto it = j.find(field);
  if (it == j.end() || it->is_null()) return fallback;
  if (!it->is_number()) return FieldError(field, absl::StrCat("must be a number, got ", it->dump()));
  return it->get<double>();
}

absl::StatusOr<bool> GetBool(const json& j, const char* field, bool fallback) {
  auto it = j.find(field);
  if (it == j.end() || it->is_null()) return fallback;
  if (!it->is_boolean()) return FieldError(field, absl::StrCat("must be true or false, got ", it->dump()));
  return it->get<bool>();
}

absl::StatusOr<Architecture> ParseArchitecture(const json& j, std::string* name) {
  auto it = j.find("architectures");
  if (it == j.end() || !it->is_array() || it->size() != 1 || !(*it)[0].is_string()) {
    return FieldError("architectures", absl::StrCat("must name exactly one architecture; supported: ",
                                                    SupportedArchitectures()));
  }
  *name = (*it)[0].get<std::string>();
  for (const ArchEntry& e : kArchitectures) {
    if (*name == e.name) return e.arch;
  }
  return absl::InvalidArgumentError(absl::StrCat("unsupported architecture '", *name,
                                                 "'; supported: ", SupportedArchitectures()));
}

// RoPE: transformers 4 writes rope_theta + rope_scaling, transformers 5 writes
// rope_parameters {rope_type, rope_theta}. Only plain RoPE is implemented.
absl::Status ParseRope(const json& j, ModelConfig& c) {
  const json* params = nullptr;
  if (auto it = j.find("rope_parameters"); it != j.end() && !it->is_null()) params = &*it;
  if (auto it = j.find("rope_scaling"); it != j.end() && !it->is_null()) params = &*it;
  ASSIGN_OR_RETURN(c.rope_theta, GetNumber(j, "rope_theta", 10000.0));
  if (params == nullptr) return absl::OkStatus();
  if (!params->is_object()) return FieldError("rope_parameters", "must be an object");
  ASSIGN_OR_RETURN(c.rope_theta, GetNumber(*params, "rope_theta", c.rope_theta));
  for (const char* key : {"rope_type", "type"}) {
    auto it = params->find(key);
    if (it != params->end() && !(it->is_string() && *it == "default")) {
      return FieldError("rope_parameters", absl::StrCat("has rope type ", it->dump(),
                                                        "; supported: \"default\""));
    }
  }
  return absl::OkStatus();
}

// Sliding-window attention is not implemented: refuse any config that turns it on.
absl::Status CheckFullAttention(const json& j) {
  ASSIGN_OR_RETURN(bool use_sliding, GetBool(j, "use_sliding_window", false));
  if (use_sliding) return FieldError("use_sliding_window", "is true; supported: false");
  if (auto it = j.find("sliding_window"); it != j.end() && !it->is_null() && !j.contains("use_sliding_window")) {
    return FieldError("sliding_window", absl::StrCat("is ", it->dump(), "; supported: null"));
  }
  if (auto it = j.find("layer_types"); it != j.end() && it->is_array()) {
    for (const json& t : *it) {
      if (t != "full_attention") {
        return FieldError("layer_types", absl::StrCat("contains ", t.dump(), "; supported: \"full_attention\""));
      }
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<DType> ParseDType(const json& j) {
  for (const char* key : {"dtype", "torch_dtype"}) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) continue;
    if (*it == "float32") return DType::kF32;
    if (*it == "bfloat16") return DType::kBF16;
    if (*it == "float16") return DType::kF16;
    return FieldError(key, absl::StrCat("is ", it->dump(), "; supported: float32, bfloat16, float16"));
  }
  return DType::kF32;
}

absl::Status ParseTokenIds(const json& j, ModelConfig& c) {
  ASSIGN_OR_RETURN(int bos, GetInt(j, "bos_token_id", -1));
  if (bos >= 0) c.bos_token_id = bos;
  auto it = j.find("eos_token_id");
  if (it == j.end() || it->is_null()) return absl::OkStatus();
  // get<int32_t> would wrap 4294967298 to 2, a valid id: range-check first.
  auto add = [&c](const json& e) -> absl::Status {
    const int64_t v = e.get<int64_t>();
    if (v < 0 || v > INT32_MAX) {
      return FieldError("eos_token_id", absl::StrCat("holds ", e.dump(), ", not a token id"));
    }
    c.eos_token_ids.push_back(static_cast<int32_t>(v));
    return absl::OkStatus();
  };
  if (it->is_number_integer()) {
    RETURN_IF_ERROR(add(*it));
  } else if (it->is_array()) {
    for (const json& e : *it) {
      if (!e.is_number_integer()) return FieldError("eos_token_id", "must hold integers");
      RETURN_IF_ERROR(add(e));
    }
  } else {
    return FieldError("eos_token_id", "must be an integer or a list of integers");
  }
  return absl::OkStatus();
}

// Which layers are MoE: Qwen-MoE interleaves dense layers through
// decoder_sparse_step and mlp_only_layers; Mixtral and OLMoE are all MoE.
absl::Status ParseLayerPattern(const json& j, ModelConfig& c) {
  c.layer_is_moe.assign(c.num_layers, true);
  if (c.arch != Architecture::kQwen2Moe && c.arch != Architecture::kQwen3Moe) return absl::OkStatus();
  ASSIGN_OR_RETURN(int step, GetInt(j, "decoder_sparse_step", 1));
  if (step < 1) return FieldError("decoder_sparse_step", "must be >= 1");
  std::vector<int> mlp_only;
  if (auto it = j.find("mlp_only_layers"); it != j.end() && !it->is_null()) {
    if (!it->is_array()) return FieldError("mlp_only_layers", "must be a list of layer indices");
    for (const json& e : *it) {
      if (!e.is_number_integer() || e.get<int64_t>() < 0 || e.get<int64_t>() >= c.num_layers) {
        return FieldError("mlp_only_layers", absl::StrCat("holds ", e.dump(), ", not a layer index below ",
                                                          c.num_layers));
      }
      mlp_only.push_back(e.get<int>());
    }
  }
  for (int l = 0; l < c.num_layers; ++l) {
    const bool dense = std::find(mlp_only.begin(), mlp_only.end(), l) != mlp_only.end();
    c.layer_is_moe[l] = !dense && c.num_experts > 0 && (l + 1) % step == 0;
  }
  return absl::OkStatus();
}

}  // namespace

std::string SupportedArchitectures() {
  std::vector<std::string> names;
  for (const ArchEntry& e : kArchitectures) names.push_back(e.name);
  return absl::StrJoin(names, ", ");
}

int ModelConfig::num_moe_layers() const {
  return static_cast<int>(std::count(layer_is_moe.begin(), layer_is_moe.end(), true));
}

absl::StatusOr<ModelConfig> ParseModelConfig(const json& j) {
  if (!j.is_object()) return absl::InvalidArgumentError("config.json: not a JSON object");
  ModelConfig c;
  ASSIGN_OR_RETURN(c.arch, ParseArchitecture(j, &c.architecture_name));

  if (auto it = j.find("hidden_act"); it != j.end() && *it != "silu") {
    return FieldError("hidden_act", absl::StrCat("is ", it->dump(), "; supported: \"silu\""));
  }
  ASSIGN_OR_RETURN(c.vocab_size, GetInt(j, "vocab_size"));
  ASSIGN_OR_RETURN(c.hidden_size, GetInt(j, "hidden_size"));
  ASSIGN_OR_RETURN(c.num_layers, GetInt(j, "num_hidden_layers"));
  ASSIGN_OR_RETURN(c.num_heads, GetInt(j, "num_attention_heads"));
  ASSIGN_OR_RETURN(c.num_kv_heads, GetInt(j, "num_key_value_heads", c.num_heads));
  if (c.num_heads == 0) return FieldError("num_attention_heads", "must be positive");
  ASSIGN_OR_RETURN(c.head_dim, GetInt(j, "head_dim", c.hidden_size / c.num_heads));
  ASSIGN_OR_RETURN(c.max_position_embeddings, GetInt(j, "max_position_embeddings"));
  ASSIGN_OR_RETURN(double eps, GetNumber(j, "rms_norm_eps", 1e-6));
  c.rms_norm_eps = static_cast<float>(eps);
  ASSIGN_OR_RETURN(c.tie_word_embeddings, GetBool(j, "tie_word_embeddings", false));
  RETURN_IF_ERROR(ParseRope(j, c));
  RETURN_IF_ERROR(CheckFullAttention(j));
  ASSIGN_OR_RETURN(c.dtype, ParseDType(j));
  RETURN_IF_ERROR(ParseTokenIds(j, c));

  // Experts: Mixtral says num_local_experts, the others num_experts.
  const char* experts_key = j.contains("num_local_experts") ? "num_local_experts" : "num_experts";
  ASSIGN_OR_RETURN(c.num_experts, GetInt(j, experts_key));
  ASSIGN_OR_RETURN(c.top_k, GetInt(j, "num_experts_per_tok"));
  ASSIGN_OR_RETURN(c.dense_intermediate_size, GetInt(j, "intermediate_size", 0));

  switch (c.arch) {
    case Architecture::kMixtral:
      c.expert_intermediate_size = c.dense_intermediate_size;
      c.norm_topk_prob = true;  // Mixtral always renormalises the top-k weights
      break;
    case Architecture::kOlmoe: {
      c.expert_intermediate_size = c.dense_intermediate_size;
      ASSIGN_OR_RETURN(c.norm_topk_prob, GetBool(j, "norm_topk_prob", false));
      ASSIGN_OR_RETURN(bool bias, GetBool(j, "attention_bias", false));
      c.qkv_bias = c.o_bias = bias;
      c.qk_norm = QkNorm::kWholeProjection;
      if (auto it = j.find("clip_qkv"); it != j.end() && !it->is_null()) {
        if (!it->is_number() || it->get<double>() <= 0) return FieldError("clip_qkv", "must be a positive number or null");
        c.clip_qkv = it->get<float>();
      }
      break;
    }
    case Architecture::kQwen2Moe: {
      ASSIGN_OR_RETURN(c.expert_intermediate_size, GetInt(j, "moe_intermediate_size"));
      ASSIGN_OR_RETURN(c.shared_expert_intermediate_size, GetInt(j, "shared_expert_intermediate_size", 0));
      ASSIGN_OR_RETURN(c.norm_topk_prob, GetBool(j, "norm_topk_prob", false));
      ASSIGN_OR_RETURN(c.qkv_bias, GetBool(j, "qkv_bias", true));
      break;
    }
    case Architecture::kQwen3Moe: {
      ASSIGN_OR_RETURN(c.expert_intermediate_size, GetInt(j, "moe_intermediate_size"));
      ASSIGN_OR_RETURN(c.norm_topk_prob, GetBool(j, "norm_topk_prob", false));
      ASSIGN_OR_RETURN(bool bias, GetBool(j, "attention_bias", false));
      c.qkv_bias = c.o_bias = bias;
      c.qk_norm = QkNorm::kPerHead;
      break;
    }
  }
  RETURN_IF_ERROR(ParseLayerPattern(j, c));
  RETURN_IF_ERROR(c.Validate());
  return c;
}

absl::Status ModelConfig::Validate() const {
  auto positive = [](const char* field, int v) -> absl::Status {
    if (v <= 0) return FieldError(field, absl::StrCat("must be positive, got ", v));
    return absl::OkStatus();
  };
  RETURN_IF_ERROR(positive("vocab_size", vocab_size));
  RETURN_IF_ERROR(positive("hidden_size", hidden_size));
  RETURN_IF_ERROR(positive("num_hidden_layers", num_layers));
  RETURN_IF_ERROR(positive("num_key_value_heads", num_kv_heads));
  RETURN_IF_ERROR(positive("head_dim", head_dim));
  RETURN_IF_ERROR(positive("max_position_embeddings", max_position_embeddings));
  if (num_heads % num_kv_heads != 0) {
    return FieldError("num_key_value_heads", absl::StrCat("(", num_kv_heads, ") must divide num_attention_heads (",
                                                          num_heads, ")"));
  }
  if (head_dim % 2 != 0) return FieldError("head_dim", absl::StrCat("must be even for RoPE, got ", head_dim));
  // q_size() and kv_size() are ints (and no model's projection is wider).
  if (int64_t{num_heads} * head_dim > INT32_MAX) {
    return FieldError("head_dim", absl::StrCat("times num_attention_heads (", head_dim, " * ", num_heads,
                                               ") overflows"));
  }
  if (qk_norm == QkNorm::kWholeProjection && head_dim * num_heads != hidden_size) {
    return FieldError("hidden_size", "must equal num_attention_heads * head_dim for OLMoE q/k norm");
  }
  if (!(rms_norm_eps > 0)) return FieldError("rms_norm_eps", "must be positive");
  if (!(rope_theta > 0)) return FieldError("rope_theta", "must be positive");
  if (num_moe_layers() > 0) {
    RETURN_IF_ERROR(positive("num_experts", num_experts));
    RETURN_IF_ERROR(positive("moe_intermediate_size", expert_intermediate_size));
    if (top_k < 1 || top_k > num_experts) {
      return FieldError("num_experts_per_tok", absl::StrCat("must be in [1, num_experts=", num_experts, "], got ",
                                                            top_k));
    }
  }
  if (num_moe_layers() < num_layers) RETURN_IF_ERROR(positive("intermediate_size", dense_intermediate_size));
  for (int32_t id : eos_token_ids) {
    if (id < 0 || id >= vocab_size) return FieldError("eos_token_id", absl::StrCat(id, " is outside the vocabulary"));
  }
  if (bos_token_id && (*bos_token_id < 0 || *bos_token_id >= vocab_size)) {
    return FieldError("bos_token_id", absl::StrCat(*bos_token_id, " is outside the vocabulary"));
  }
  return absl::OkStatus();
}

absl::StatusOr<ModelConfig> LoadModelConfig(const std::string& path) {
  std::filesystem::path p(path);
  if (std::filesystem::is_directory(p)) p /= "config.json";
  std::ifstream in(p);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open ", p.string()));
  std::stringstream text;
  text << in.rdbuf();
  json j = json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return absl::InvalidArgumentError(absl::StrCat(p.string(), ": not valid JSON"));
  absl::StatusOr<ModelConfig> config = ParseModelConfig(j);
  if (!config.ok()) {
    return absl::Status(config.status().code(), absl::StrCat(p.string(), ": ", config.status().message()));
  }
  return config;
}

}  // namespace switchyard::engine
