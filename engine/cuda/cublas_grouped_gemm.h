// The grouped GEMM through cuBLAS (cublasGemmGroupedBatchedEx), the second
// path that the project's own kernel (grouped_gemm.h) is compared against.
// cuBLAS takes the group sizes on the host, so this path needs the
// dispatch plan's offsets copied back first: a host synchronisation inside
// the layer, and no CUDA graph over a step that uses it. bf16 in and out.
#pragma once

#include <cublas_v2.h>
#include <cuda_bf16.h>
#include <cuda_runtime_api.h>

#include <cstdint>

#include "absl/status/status.h"
#include "absl/types/span.h"

namespace switchyard::engine::cuda {

struct CublasGroupedGemmParams {
  const __nv_bfloat16* a = nullptr;       // [rows, k], grouped: group g is rows [offsets[g], offsets[g+1])
  const __nv_bfloat16* w = nullptr;       // [groups, n, k]
  absl::Span<const int32_t> offsets;      // host [groups + 1]
  int32_t n = 0;
  int32_t k = 0;
  __nv_bfloat16* out = nullptr;           // [rows, n]: out[r] = a[r] · w[g]ᵀ
  void** device_pointers = nullptr;       // the caller's device buffer of 3 · groups pointers
};

absl::Status CublasGroupedGemm(cublasHandle_t handle, const CublasGroupedGemmParams& p, cudaStream_t stream);

// OK for CUBLAS_STATUS_SUCCESS, INTERNAL naming `what` otherwise.
absl::Status CublasStatus(cublasStatus_t status, const char* what);

}  // namespace switchyard::engine::cuda
