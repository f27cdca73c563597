// The grouped GEMM of the MoE layer, and of every dense projection as the
// one-group case: bf16 weights, float32 activations rounded to bf16 on their
// way into the tensor cores, float32 accumulation and output.
//
//   for each group g, rows r in [offsets[g], offsets[g+1]):
//     out[r, j] = Σ_i a[src(r), i] · w[g, j, i]                       (plain)
//     out[r, j] = silu(Σ a·w[g, j]) · (Σ a·w[g, n + j])               (silu_mul)
//   where src(r) = a_rows ? a_rows[r] : r
//
// The offsets are read from device memory (the device-built DispatchPlan),
// so one launch serves all experts with no host synchronisation and can be
// captured in a CUDA graph: the grid is sized for the worst case (m rows
// spread over every group) and tiles past the real rows exit at once. The
// silu_mul form fuses SwiGLU into the gate/up GEMM: w holds gate rows [0, n)
// then up rows [n, 2n), as MlpWeights stacks them, and each block computes
// matching gate and up tiles.
#pragma once

#include <cuda_bf16.h>
#include <cuda_runtime_api.h>

#include <cstdint>

#include "absl/status/status.h"

namespace switchyard::engine::cuda {

struct GroupedGemmParams {
  const float* a = nullptr;          // activations, rows of k
  const int32_t* a_rows = nullptr;   // optional [m]: product row r reads a row a_rows[r] (gather)
  const __nv_bfloat16* w = nullptr;  // [num_groups, silu_mul ? 2n : n, k]
  const int32_t* offsets = nullptr;  // optional, device [num_groups + 1]; null: one group of m rows
  int32_t num_groups = 1;
  int32_t m = 0;                     // rows; with offsets, the most offsets[num_groups] can be
  int32_t n = 0;
  int32_t k = 0;
  bool silu_mul = false;
  float* out = nullptr;              // [m, n]
};

absl::Status GroupedGemm(const GroupedGemmParams& p, cudaStream_t stream);

}  // namespace switchyard::engine::cuda
