// Matrix products against weight matrices, the CPU backend's only GEMM.
#pragma once

#include <cstdint>
#include <vector>

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

// A's rows as the product with a W of `w_dtype` reads them: BF16 kernels take
// each row split even/odd for the active kernel (bf16_kernels.h), F32 ones
// take A as it is. Prepared once per A, read by every column range.
struct PreparedRows {
  const float* data = nullptr;
  int64_t stride = 0;  // floats between rows
  const float* row(int64_t r) const { return data + r * stride; }
};
// `buffer` holds the split rows when they are needed (BF16).
PreparedRows PrepareRows(const float* a, int64_t lda, int64_t m, int64_t k, DType w_dtype, std::vector<float>& buffer);

// C[m, n] = sum_k A[m, k] · W[n, k] for n in [n_begin, n_end), on the calling
// thread; C has row stride `ldc`. BF16 W goes through the active BF16 kernel
// (register blocks of rows, each weight widened once per block); F32 W with
// few rows streams through registers, with many rows goes to OpenBLAS sgemm.
void MatMulColumns(PreparedRows a, int64_t m, const WeightView& w, int64_t n_begin, int64_t n_end, float* c,
                   int64_t ldc);

// C[m, :] = A[m, :] · Wᵀ over all columns, split across the OpenMP threads.
void MatMul(const float* a, int64_t m, const WeightView& w, float* c);

// Column tile width the parallel drivers split W into.
constexpr int64_t kColumnTile = 64;

}  // namespace switchyard::engine::cpu
