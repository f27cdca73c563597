// Small element-wise steps of attention: projection biases (Qwen2-MoE) and
// OLMoE's clip_qkv.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

#include "absl/status/status.h"

namespace switchyard::engine::cuda {

// x[r, :] += bias for rows of n.
absl::Status AddBias(float* x, const float* bias, int32_t rows, int32_t n, cudaStream_t stream);

// Every element of x[0, count) clamped to [-limit, limit].
absl::Status Clamp(float* x, int64_t count, float limit, cudaStream_t stream);

}  // namespace switchyard::engine::cuda
