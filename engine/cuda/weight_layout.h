// Where each weight lives in the one device allocation that holds them all,
// and the bytes the device stores for it. Matrices (embedding, projections,
// every expert, LM head) are BF16, F32 checkpoints rounded to nearest even;
// norm weights, biases, the router and the shared-expert gate stay F32, so
// that routing sees the same weights as on the CPU.
#pragma once

#include <cstdint>
#include <vector>

#include "engine/dtype.h"
#include "engine/host_tensor.h"
#include "engine/model_weights.h"

namespace switchyard::engine::cuda {

// Byte offsets into the weight allocation; kAbsent where the architecture
// has no such tensor.
inline constexpr int64_t kAbsent = -1;

struct LayerOffsets {
  int64_t input_norm = kAbsent, post_attention_norm = kAbsent;
  int64_t q_proj = kAbsent, k_proj = kAbsent, v_proj = kAbsent, o_proj = kAbsent;
  int64_t q_bias = kAbsent, k_bias = kAbsent, v_bias = kAbsent, o_bias = kAbsent;
  int64_t q_norm = kAbsent, k_norm = kAbsent;
  int64_t mlp_gate_up = kAbsent, mlp_down = kAbsent;  // dense layers
  int64_t router = kAbsent, experts_gate_up = kAbsent, experts_down = kAbsent;
  int64_t shared_gate_up = kAbsent, shared_down = kAbsent, shared_gate = kAbsent;
};

struct TensorPlacement {
  const HostTensor* source = nullptr;
  DType dtype = DType::kBF16;  // as stored on the device
  int64_t offset = 0;
  int64_t bytes = 0;
};

struct WeightLayout {
  int64_t embed = kAbsent, final_norm = kAbsent, lm_head = kAbsent;  // a tied LM head is the embedding
  std::vector<LayerOffsets> layers;
  std::vector<TensorPlacement> tensors;  // every stored tensor once, in offset order
  int64_t total_bytes = 0;
};

// Each tensor starts on a 256-byte boundary (what cudaMalloc gives, and more
// than any vector load needs).
inline constexpr int64_t kDeviceAlignment = 256;

WeightLayout PlanWeightLayout(const ModelWeights& weights);

// `t`'s elements converted to `dtype` (BF16 or F32), as the device stores them.
std::vector<uint8_t> ConvertForDevice(const HostTensor& t, DType dtype);

}  // namespace switchyard::engine::cuda
