// ModelWeights: every tensor of a model, named by role, in host memory.
//
// Matrices are row-major [out_features, in_features], as in the checkpoint.
// They keep the checkpoint's dtype when it is F32 or BF16 (decode reads each
// weight once per step, so half the bytes is half the time) and F16 is widened
// to F32. Norm weights, biases and router weights are always F32.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/host_tensor.h"
#include "engine/model_config.h"

namespace switchyard::engine {

class Checkpoint;

// A SwiGLU MLP: gate and up stacked into one matrix so that one GEMM computes
// both; rows [0, I) are the gate projection, rows [I, 2I) the up projection.
struct MlpWeights {
  HostTensor gate_up;  // [2I, H]
  HostTensor down;     // [H, I]
};

struct MoeWeights {
  HostTensor router;           // [E, H] F32
  HostTensor experts_gate_up;  // [E, 2I, H], each expert as in MlpWeights
  HostTensor experts_down;     // [E, H, I]
  MlpWeights shared_expert;    // Qwen2-MoE only (empty otherwise)
  HostTensor shared_expert_gate;  // [1, H] F32, Qwen2-MoE only
};

struct LayerWeights {
  HostTensor input_norm;           // [H]
  HostTensor post_attention_norm;  // [H]
  HostTensor q_proj, k_proj, v_proj, o_proj;
  HostTensor q_bias, k_bias, v_bias, o_bias;  // empty when the architecture has none
  HostTensor q_norm, k_norm;                  // empty when the architecture has none
  bool is_moe = false;
  MlpWeights mlp;  // dense layers
  MoeWeights moe;  // MoE layers
};

struct ModelWeights {
  ModelConfig config;
  DType matrix_dtype = DType::kF32;
  HostTensor embed;  // [V, H]
  std::vector<LayerWeights> layers;
  HostTensor final_norm;  // [H]
  HostTensor lm_head_own;  // [V, H]; empty when tied to the embedding

  const HostTensor& lm_head() const { return lm_head_own.empty() ? embed : lm_head_own; }
  size_t total_bytes() const;
};

// Loads and checks every tensor the architecture needs: a missing, extra or
// mis-shaped tensor is an error naming the tensor and its file.
absl::StatusOr<std::unique_ptr<ModelWeights>> LoadWeights(const ModelConfig& config, const Checkpoint& checkpoint);

// Random weights from the config alone (`--load-format dummy`), for
// benchmarking shapes without a checkpoint. Deterministic in `seed`.
absl::StatusOr<std::unique_ptr<ModelWeights>> RandomWeights(const ModelConfig& config, uint64_t seed);

}  // namespace switchyard::engine
