// The AVX-512 BF16 kernel (bf16_kernels.h). This file alone is compiled with
// -mavx512f -mavx512bw, so it calls nothing inline from other headers (the
// linker could keep its AVX-512 copy for the whole program) and runs only
// where ActiveBf16Kernel found the instructions.
// GCC 12 reports its own _mm512_undefined_* placeholders inside
// avx512fintrin.h as uninitialised (a false positive fixed in later GCCs).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>

#include "engine/cpu/bf16_kernels.h"

namespace switchyard::engine::cpu {
namespace {

constexpr int64_t kChunk = 32;  // BF16 weights per 512-bit load
// Each W row is prefetched this far ahead of its loads: with eight rows
// streamed at once, the hardware prefetchers alone left single-sequence
// decode ~25% slower (bench/RESULTS.md).
constexpr int64_t kPrefetchBytes = 512;

float Bf16ToFloat(uint16_t v) {
  const uint32_t bits = static_cast<uint32_t>(v) << 16;
  float f;
  __builtin_memcpy(&f, &bits, 4);
  return f;
}

// R rows of A against NW rows of W: R·NW independent FMA chains, each widened
// weight vector used R times.
template <int R, int NW>
void DotBlock(const float* a_split, int64_t lda, const uint16_t* w, int64_t k, float* c, int64_t ldc) {
  const __m512i high_half = _mm512_set1_epi32(static_cast<int>(0xffff0000u));
  __m512 acc[R][NW];
  for (int r = 0; r < R; ++r)
    for (int j = 0; j < NW; ++j) acc[r][j] = _mm512_setzero_ps();
  int64_t i = 0;
  for (; i + kChunk <= k; i += kChunk) {
    __m512 even[NW], odd[NW];
    for (int j = 0; j < NW; ++j) {
      _mm_prefetch(reinterpret_cast<const char*>(w + j * k + i) + kPrefetchBytes, _MM_HINT_T0);
      const __m512i pairs = _mm512_loadu_si512(w + j * k + i);
      even[j] = _mm512_castsi512_ps(_mm512_slli_epi32(pairs, 16));
      odd[j] = _mm512_castsi512_ps(_mm512_and_si512(pairs, high_half));
    }
    for (int r = 0; r < R; ++r) {
      const __m512 a_even = _mm512_loadu_ps(a_split + r * lda + i);
      const __m512 a_odd = _mm512_loadu_ps(a_split + r * lda + i + 16);
      for (int j = 0; j < NW; ++j) {
        acc[r][j] = _mm512_fmadd_ps(a_even, even[j], acc[r][j]);
        acc[r][j] = _mm512_fmadd_ps(a_odd, odd[j], acc[r][j]);
      }
    }
  }
  for (int r = 0; r < R; ++r) {
    for (int j = 0; j < NW; ++j) {
      float s = _mm512_reduce_add_ps(acc[r][j]);
      for (int64_t t = i; t < k; ++t) s += a_split[r * lda + t] * Bf16ToFloat(w[j * k + t]);
      c[r * ldc + j] = s;
    }
  }
}

template <int R>
void RowsTimesColumns(const float* a, int64_t lda, const uint16_t* w, int64_t k, int64_t n_begin, int64_t n_end,
                      float* c, int64_t ldc) {
  // A single row reuses nothing, so it takes more W rows at a time to keep
  // enough FMA chains and memory streams in flight; 32 registers bound R·NW.
  constexpr int NW = R == 1 ? 8 : 4;
  int64_t n = n_begin;
  for (; n + NW <= n_end; n += NW) DotBlock<R, NW>(a, lda, w + n * k, k, c + n, ldc);
  for (; n < n_end; ++n) DotBlock<R, 1>(a, lda, w + n * k, k, c + n, ldc);
}

void Run(const float* a_split, int64_t lda, int64_t m, const uint16_t* w, int64_t k, int64_t n_begin, int64_t n_end,
         float* c, int64_t ldc) {
  int64_t r = 0;
  // Four rows by four W rows: the block's A (4 x k floats) and W (4 x k
  // BF16) stay in L1 while it runs. Eight rows by two, fewer loads per FMA
  // on paper, spilled out of L1 and prefilled 35% slower (bench/RESULTS.md).
  for (; r + 4 <= m; r += 4) RowsTimesColumns<4>(a_split + r * lda, lda, w, k, n_begin, n_end, c + r * ldc, ldc);
  switch (m - r) {
    case 3: RowsTimesColumns<3>(a_split + r * lda, lda, w, k, n_begin, n_end, c + r * ldc, ldc); break;
    case 2: RowsTimesColumns<2>(a_split + r * lda, lda, w, k, n_begin, n_end, c + r * ldc, ldc); break;
    case 1: RowsTimesColumns<1>(a_split + r * lda, lda, w, k, n_begin, n_end, c + r * ldc, ldc); break;
    default: break;
  }
}

}  // namespace

Bf16Kernel Bf16KernelAvx512() { return {"avx512", kChunk, Run}; }

}  // namespace switchyard::engine::cpu
