#include "engine/cpu/matmul.h"

#include <cblas.h>
#include <immintrin.h>

#include <algorithm>
#include <vector>

#include "engine/cpu/parallel.h"

namespace switchyard::engine::cpu {
namespace {

// Below this many rows the product is bound by reading W, so W is streamed
// once through registers; above it, a blocked sgemm is faster.
constexpr int64_t kSgemmMinRows = 16;
// Below this depth sgemm's packing and call overhead outweigh its blocking.
constexpr int64_t kSgemmMinDepth = 256;

inline float HorizontalSum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// R rows of A against NW rows of W: R·NW independent FMA chains, W read once.
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

// BF16 weights are widened in registers. One 256-bit load holds 16 weights as
// 8 pairs; shifting each 32-bit lane left by 16 gives the even-indexed
// weights as floats and masking off its low half the odd-indexed ones: two
// integer ops per 16 weights. A is pre-split to match (SplitEvenOdd): each
// 16-float chunk of a row becomes its 8 even then its 8 odd elements; the
// tail past the last whole chunk keeps its order.
constexpr int64_t kBf16Chunk = 16;

void SplitEvenOdd(const float* a, int64_t lda, int64_t m, int64_t k, float* out) {
  const int64_t whole = k / kBf16Chunk * kBf16Chunk;
  for (int64_t r = 0; r < m; ++r) {
    const float* src = a + r * lda;
    float* dst = out + r * k;
    for (int64_t i = 0; i < whole; i += kBf16Chunk) {
      for (int j = 0; j < 8; ++j) {
        dst[i + j] = src[i + 2 * j];
        dst[i + 8 + j] = src[i + 2 * j + 1];
      }
    }
    std::copy(src + whole, src + k, dst + whole);
  }
}

template <int R, int NW>
void DotBlock(const float* a_split, int64_t lda, const uint16_t* w, int64_t k, float* c, int64_t ldc) {
  const __m256i high_half = _mm256_set1_epi32(static_cast<int>(0xffff0000u));
  __m256 acc[R][NW];
  for (int r = 0; r < R; ++r)
    for (int j = 0; j < NW; ++j) acc[r][j] = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + kBf16Chunk <= k; i += kBf16Chunk) {
    __m256 even[NW], odd[NW];
    for (int j = 0; j < NW; ++j) {
      const __m256i pairs = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + j * k + i));
      even[j] = _mm256_castsi256_ps(_mm256_slli_epi32(pairs, 16));
      odd[j] = _mm256_castsi256_ps(_mm256_and_si256(pairs, high_half));
    }
    for (int r = 0; r < R; ++r) {
      const __m256 a_even = _mm256_loadu_ps(a_split + r * lda + i);
      const __m256 a_odd = _mm256_loadu_ps(a_split + r * lda + i + 8);
      for (int j = 0; j < NW; ++j) {
        acc[r][j] = _mm256_fmadd_ps(a_even, even[j], acc[r][j]);
        acc[r][j] = _mm256_fmadd_ps(a_odd, odd[j], acc[r][j]);
      }
    }
  }
  for (int r = 0; r < R; ++r) {
    for (int j = 0; j < NW; ++j) {
      float s = HorizontalSum(acc[r][j]);
      for (int64_t t = i; t < k; ++t) s += a_split[r * lda + t] * BF16ToFloat(w[j * k + t]);
      c[r * ldc + j] = s;
    }
  }
}

template <int R, typename T>
void RowsTimesColumns(const float* a, int64_t lda, const T* w, int64_t k, int64_t n_begin, int64_t n_end, float* c,
                      int64_t ldc) {
  // A single row has no reuse of W across rows, so it takes several W rows at
  // a time to keep enough FMA chains and memory streams in flight.
  constexpr int NW = R == 1 ? 8 : 2;
  int64_t n = n_begin;
  for (; n + NW <= n_end; n += NW) DotBlock<R, NW>(a, lda, w + n * k, k, c + n, ldc);
  for (; n < n_end; ++n) DotBlock<R, 1>(a, lda, w + n * k, k, c + n, ldc);
}

template <typename T>
void StreamW(const float* a, int64_t lda, int64_t m, const T* w, int64_t k, int64_t n_begin, int64_t n_end, float* c,
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

void MatMulColumns(const float* a, int64_t lda, int64_t m, const WeightView& w, int64_t n_begin, int64_t n_end,
                   float* c, int64_t ldc) {
  if (m <= 0 || n_end <= n_begin) return;
  const int64_t k = w.cols;
  if (m < kSgemmMinRows || k < kSgemmMinDepth) {
    if (w.dtype == DType::kBF16) {
      thread_local std::vector<float> a_split;
      a_split.resize(m * k);
      SplitEvenOdd(a, lda, m, k, a_split.data());
      StreamW(a_split.data(), k, m, static_cast<const uint16_t*>(w.data), k, n_begin, n_end, c, ldc);
    } else {
      StreamW(a, lda, m, static_cast<const float*>(w.data), k, n_begin, n_end, c, ldc);
    }
    return;
  }
  if (w.dtype == DType::kF32) {
    Sgemm(a, lda, m, static_cast<const float*>(w.data) + n_begin * k, k, n_end - n_begin, c + n_begin, ldc);
    return;
  }
  // BF16 and many rows: widen one tile of W at a time and reuse it m times.
  thread_local std::vector<float> tile;
  const auto* wb = static_cast<const uint16_t*>(w.data);
  for (int64_t n0 = n_begin; n0 < n_end; n0 += kColumnTile) {
    const int64_t n1 = std::min(n_end, n0 + kColumnTile);
    tile.resize((n1 - n0) * k);
    ConvertToFloat(DType::kBF16, wb + n0 * k, tile.data(), tile.size());
    Sgemm(a, lda, m, tile.data(), k, n1 - n0, c + n0, ldc);
  }
}

void MatMul(const float* a, int64_t m, const WeightView& w, float* c) {
  const int64_t tiles = (w.rows + kColumnTile - 1) / kColumnTile;
#pragma omp parallel for schedule(static) if (tiles > 1 && m * w.rows * w.cols >= kMinParallelMacs)
  for (int64_t t = 0; t < tiles; ++t) {
    const int64_t n0 = t * kColumnTile;
    MatMulColumns(a, w.cols, m, w, n0, std::min(w.rows, n0 + kColumnTile), c, w.rows);
  }
}

}  // namespace switchyard::engine::cpu
