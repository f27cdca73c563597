#include "engine/cpu/matmul.h"

#include <cblas.h>
#include <immintrin.h>

#include <algorithm>
#include <vector>

#include "engine/cpu/bf16_kernels.h"
#include "engine/cpu/simd.h"
#include "engine/cpu/parallel.h"

namespace switchyard::engine::cpu {
namespace {

// F32 W: below this many rows the product is bound by reading W, so W is
// streamed once through registers; above it, a blocked sgemm is faster.
constexpr int64_t kSgemmMinRows = 16;
// Below this depth sgemm's packing and call overhead outweigh its blocking.
constexpr int64_t kSgemmMinDepth = 256;

// R rows of A against NW rows of F32 W: R·NW independent FMA chains, W read once.
template <int R, int NW>
void DotBlock(const float* a, int64_t lda, const float* w, int64_t k, float* c, int64_t ldc) {
  __m256 acc[R][NW];
  for (int r = 0; r < R; ++r)
    for (int j = 0; j < NW; ++j) acc[r][j] = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 8 <= k; i += 8) {
    __m256 wv[NW];
    for (int j = 0; j < NW; ++j) wv[j] = _mm256_loadu_ps(w + j * k + i);
    for (int r = 0; r < R; ++r) {
      const __m256 av = _mm256_loadu_ps(a + r * lda + i);
      for (int j = 0; j < NW; ++j) acc[r][j] = _mm256_fmadd_ps(av, wv[j], acc[r][j]);
    }
  }
  for (int r = 0; r < R; ++r) {
    for (int j = 0; j < NW; ++j) {
      float s = HorizontalSum(acc[r][j]);
      for (int64_t t = i; t < k; ++t) s += a[r * lda + t] * w[j * k + t];
      c[r * ldc + j] = s;
    }
  }
}

template <int R>
void RowsTimesColumns(const float* a, int64_t lda, const float* w, int64_t k, int64_t n_begin, int64_t n_end, float* c,
                      int64_t ldc) {
  // A single row has no reuse of W across rows, so it takes several W rows at
  // a time to keep enough FMA chains and memory streams in flight.
  constexpr int NW = R == 1 ? 8 : 2;
  int64_t n = n_begin;
  for (; n + NW <= n_end; n += NW) DotBlock<R, NW>(a, lda, w + n * k, k, c + n, ldc);
  for (; n < n_end; ++n) DotBlock<R, 1>(a, lda, w + n * k, k, c + n, ldc);
}

void StreamW(const float* a, int64_t lda, int64_t m, const float* w, int64_t k, int64_t n_begin, int64_t n_end, float* c,
             int64_t ldc) {
  int64_t r = 0;
  for (; r + 4 <= m; r += 4) RowsTimesColumns<4>(a + r * lda, lda, w, k, n_begin, n_end, c + r * ldc, ldc);
  switch (m - r) {
    case 3: RowsTimesColumns<3>(a + r * lda, lda, w, k, n_begin, n_end, c + r * ldc, ldc); break;
    case 2: RowsTimesColumns<2>(a + r * lda, lda, w, k, n_begin, n_end, c + r * ldc, ldc); break;
    case 1: RowsTimesColumns<1>(a + r * lda, lda, w, k, n_begin, n_end, c + r * ldc, ldc); break;
    default: break;
  }
}

void Sgemm(const float* a, int64_t lda, int64_t m, const float* w, int64_t k, int64_t n, float* c, int64_t ldc) {
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k, 1.0f, a, lda, w, k, 0.0f, c, ldc);
}

}  // namespace

WeightView WeightView::Of(const HostTensor& t) {
  return WeightView{t.data(), t.dtype(), t.dim(0), t.numel() / std::max<int64_t>(t.dim(0), 1)};
}

WeightView WeightView::Slice(const HostTensor& stacked, int64_t e) {
  const int64_t rows = stacked.dim(1), cols = stacked.dim(2);
  const auto* base = static_cast<const char*>(stacked.data());
  return WeightView{base + e * rows * cols * DTypeSize(stacked.dtype()), stacked.dtype(), rows, cols};
}

PreparedRows PrepareRows(const float* a, int64_t lda, int64_t m, int64_t k, DType w_dtype,
                         std::vector<float>& buffer) {
  if (w_dtype != DType::kBF16) return {a, lda};
  buffer.resize(m * k);
  SplitEvenOdd(a, lda, m, k, ActiveBf16Kernel().chunk, buffer.data());
  return {buffer.data(), k};
}

void MatMulColumns(PreparedRows a, int64_t m, const WeightView& w, int64_t n_begin, int64_t n_end, float* c,
                   int64_t ldc) {
  if (m <= 0 || n_end <= n_begin) return;
  const int64_t k = w.cols;
  if (w.dtype == DType::kBF16) {
    ActiveBf16Kernel().run(a.data, a.stride, m, static_cast<const uint16_t*>(w.data), k, n_begin, n_end, c, ldc);
    return;
  }
  const auto* wf = static_cast<const float*>(w.data);
  if (m < kSgemmMinRows || k < kSgemmMinDepth) {
    StreamW(a.data, a.stride, m, wf, k, n_begin, n_end, c, ldc);
  } else {
    Sgemm(a.data, a.stride, m, wf + n_begin * k, k, n_end - n_begin, c + n_begin, ldc);
  }
}

void MatMul(const float* a, int64_t m, const WeightView& w, float* c) {
  thread_local std::vector<float> buffer;
  const PreparedRows rows = PrepareRows(a, w.cols, m, w.cols, w.dtype, buffer);
  const int64_t tiles = (w.rows + kColumnTile - 1) / kColumnTile;
#pragma omp parallel for schedule(static) if (tiles > 1 && m * w.rows * w.cols >= kMinParallelMacs)
  for (int64_t t = 0; t < tiles; ++t) {
    const int64_t n0 = t * kColumnTile;
    MatMulColumns(rows, m, w, n0, std::min(w.rows, n0 + kColumnTile), c, w.rows);
  }
}

}  // namespace switchyard::engine::cpu
