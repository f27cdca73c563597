// The AVX2 BF16 kernel (bf16_kernels.h): the portable floor, x86-64-v3.
#include <immintrin.h>

#include "engine/cpu/bf16_kernels.h"
#include "engine/cpu/simd.h"
#include "engine/dtype.h"

namespace switchyard::engine::cpu {
namespace {

constexpr int64_t kChunk = 16;  // BF16 weights per 256-bit load
// Each W row is prefetched this far ahead of its loads (see the AVX-512
// kernel).
constexpr int64_t kPrefetchBytes = 512;

// R rows of A against NW rows of W: R·NW independent FMA chains, each widened
// weight vector used R times.
template <int R, int NW>
void DotBlock(const float* a_split, int64_t lda, const uint16_t* w, int64_t k, float* c, int64_t ldc) {
  const __m256i high_half = _mm256_set1_epi32(static_cast<int>(0xffff0000u));
  __m256 acc[R][NW];
  for (int r = 0; r < R; ++r)
    for (int j = 0; j < NW; ++j) acc[r][j] = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + kChunk <= k; i += kChunk) {
    __m256 even[NW], odd[NW];
    for (int j = 0; j < NW; ++j) {
      _mm_prefetch(reinterpret_cast<const char*>(w + j * k + i) + kPrefetchBytes, _MM_HINT_T0);
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

template <int R>
void RowsTimesColumns(const float* a, int64_t lda, const uint16_t* w, int64_t k, int64_t n_begin, int64_t n_end,
                      float* c, int64_t ldc) {
  // A single row has no reuse of W across rows, so it takes several W rows at
  // a time to keep enough FMA chains and memory streams in flight; 16
  // registers bound R·NW.
  constexpr int NW = R == 1 ? 8 : 2;
  int64_t n = n_begin;
  for (; n + NW <= n_end; n += NW) DotBlock<R, NW>(a, lda, w + n * k, k, c + n, ldc);
  for (; n < n_end; ++n) DotBlock<R, 1>(a, lda, w + n * k, k, c + n, ldc);
}

void Run(const float* a_split, int64_t lda, int64_t m, const uint16_t* w, int64_t k, int64_t n_begin, int64_t n_end,
         float* c, int64_t ldc) {
  int64_t r = 0;
  for (; r + 4 <= m; r += 4) RowsTimesColumns<4>(a_split + r * lda, lda, w, k, n_begin, n_end, c + r * ldc, ldc);
  switch (m - r) {
    case 3: RowsTimesColumns<3>(a_split + r * lda, lda, w, k, n_begin, n_end, c + r * ldc, ldc); break;
    case 2: RowsTimesColumns<2>(a_split + r * lda, lda, w, k, n_begin, n_end, c + r * ldc, ldc); break;
    case 1: RowsTimesColumns<1>(a_split + r * lda, lda, w, k, n_begin, n_end, c + r * ldc, ldc); break;
    default: break;
  }
}

}  // namespace

Bf16Kernel Bf16KernelAvx2() { return {"avx2", kChunk, Run}; }

}  // namespace switchyard::engine::cpu
