// The model's weights on the device: one allocation laid out by
// PlanWeightLayout, uploaded once at start-up, and typed pointers into it.
#pragma once

#include <cuda_bf16.h>

#include <vector>

#include "absl/status/statusor.h"
#include "engine/cuda/device_buffer.h"
#include "engine/cuda/weight_layout.h"
#include "engine/model_weights.h"

namespace switchyard::engine::cuda {

// nullptr where the architecture has no such tensor.
struct DeviceLayer {
  const float *input_norm, *post_attention_norm;
  const __nv_bfloat16 *q_proj, *k_proj, *v_proj, *o_proj;
  const float *q_bias, *k_bias, *v_bias, *o_bias, *q_norm, *k_norm;
  const __nv_bfloat16 *mlp_gate_up, *mlp_down;
  const float* router;
  const __nv_bfloat16 *experts_gate_up, *experts_down, *shared_gate_up, *shared_down;
  const float* shared_gate;
};

struct DeviceWeights {
  DeviceBuffer memory;
  const __nv_bfloat16* embed = nullptr;
  const __nv_bfloat16* lm_head = nullptr;
  const float* final_norm = nullptr;
  std::vector<DeviceLayer> layers;
};

absl::StatusOr<DeviceWeights> UploadWeights(const ModelWeights& weights, const WeightLayout& layout);

}  // namespace switchyard::engine::cuda
