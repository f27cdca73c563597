// Matrix products against weight matrices, the CPU backend's only GEMM.
#pragma once

#include <cstdint>

#include "engine/dtype.h"
#include "engine/host_tensor.h"

namespace switchyard::engine::cpu {

// A weight matrix W [rows, cols] (out_features x in_features), F32 or BF16,
// row-major; may point into a larger tensor (one expert of a stacked tensor).
struct WeightView {
  const void* data = nullptr;
  DType dtype = DType::kF32;
  int64_t rows = 0;
  int64_t cols = 0;

  static WeightView Of(const HostTensor& t);
  // Expert `e` of a stacked [E, rows, cols] tensor.
  static WeightView Slice(const HostTensor& stacked, int64_t e);
};

// C[m, n] = sum_k A[m, k] · W[n, k] for n in [n_begin, n_end), on the calling
// thread. A has row stride `lda`, C has row stride `ldc`. Few rows (decode)
// stream W once through a register-blocked kernel that converts BF16 on the
// fly; many rows (prefill) go to OpenBLAS sgemm, BF16 tiles widened first.
void MatMulColumns(const float* a, int64_t lda, int64_t m, const WeightView& w, int64_t n_begin, int64_t n_end,
                   float* c, int64_t ldc);

// C[m, :] = A[m, :] · Wᵀ over all columns, split across the OpenMP threads.
void MatMul(const float* a, int64_t m, const WeightView& w, float* c);

// Column tile width the parallel drivers split W into.
constexpr int64_t kColumnTile = 64;

}  // namespace switchyard::engine::cpu
