// RMSNorm, alone and fused with the residual add that precedes it.
//   RmsNorm:    out[r] = x[r] / sqrt(mean(x[r]²) + eps) · weight
//   AddRmsNorm: x[r] += delta[r]; out[r] = RmsNorm(x[r])
// Rows of n float32 at stride n; out may alias x (q/k norm in place).
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

#include "absl/status/status.h"

namespace switchyard::engine::cuda {

struct RmsNormParams {
  float* x = nullptr;            // [rows, n]; AddRmsNorm updates it
  const float* delta = nullptr;  // [rows, n], AddRmsNorm only
  const float* weight = nullptr; // [n]
  int32_t rows = 0;
  int32_t n = 0;
  float eps = 1e-6f;
  float* out = nullptr;          // [rows, n]
};

absl::Status RmsNorm(const RmsNormParams& p, cudaStream_t stream);
absl::Status AddRmsNorm(const RmsNormParams& p, cudaStream_t stream);

}  // namespace switchyard::engine::cuda
