// ModelConfig: one struct for every supported MoE architecture, parsed from a
// Hugging Face config.json (transformers 4.x and 5.x spellings).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "engine/dtype.h"
#include "nlohmann/json_fwd.hpp"

namespace switchyard::engine {

enum class Architecture { kMixtral, kQwen2Moe, kQwen3Moe, kOlmoe };

// Where q/k RMSNorm sits: Qwen3-MoE normalises each head, OLMoE the whole
// projection (all heads together) before the reshape.
enum class QkNorm { kNone, kPerHead, kWholeProjection };

struct ModelConfig {
  Architecture arch = Architecture::kMixtral;
  std::string architecture_name;  // as in config.json, e.g. "MixtralForCausalLM"

  int vocab_size = 0;
  int hidden_size = 0;
  int num_layers = 0;
  int num_heads = 0;
  int num_kv_heads = 0;
  int head_dim = 0;
  int max_position_embeddings = 0;
  float rms_norm_eps = 1e-6f;
  double rope_theta = 10000.0;
  bool tie_word_embeddings = false;

  bool qkv_bias = false;  // bias on q/k/v projections
  bool o_bias = false;    // bias on the output projection
  QkNorm qk_norm = QkNorm::kNone;
  std::optional<float> clip_qkv;  // OLMoE: clamp q, k, v to [-c, c]

  // Mixture of experts.
  int num_experts = 0;
  int top_k = 0;
  int expert_intermediate_size = 0;
  bool norm_topk_prob = true;  // renormalise the top-k routing weights
  int shared_expert_intermediate_size = 0;  // 0: no shared expert
  int dense_intermediate_size = 0;          // MLP of non-MoE layers
  std::vector<bool> layer_is_moe;           // per layer

  DType dtype = DType::kF32;  // the checkpoint's declared dtype
  std::optional<int32_t> bos_token_id;
  std::vector<int32_t> eos_token_ids;

  int q_size() const { return num_heads * head_dim; }
  int kv_size() const { return num_kv_heads * head_dim; }
  int num_moe_layers() const;

  absl::Status Validate() const;
};

// The architectures accepted by ParseModelConfig, for messages.
std::string SupportedArchitectures();

absl::StatusOr<ModelConfig> ParseModelConfig(const nlohmann::json& config_json);
// Reads DIR/config.json (or the file itself when given a file).
absl::StatusOr<ModelConfig> LoadModelConfig(const std::string& path);

}  // namespace switchyard::engine
