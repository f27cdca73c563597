// The WMMA API (nvcuda::wmma, CUDA's <mma.h>) for the CPU emulator. The
// hardware spreads a fragment over the 32 lanes in a layout the API leaves
// unspecified; here every lane holds the whole tile, and every *_sync call is
// a warp barrier first, so a call the whole warp does not make is reported.
// Products accumulate in float in depth order: the tolerance of a test must
// cover the device's different order, as it must for any GEMM.
#pragma once

#include <cuda_bf16.h>

#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "tests/engine/cuda/emulator/cuda_emulator.h"

namespace nvcuda::wmma {

struct matrix_a {};
struct matrix_b {};
struct accumulator {};
struct row_major {};
struct col_major {};
enum layout_t { mem_row_major, mem_col_major };

namespace detail {
template <typename Use, int M, int N, int K>
constexpr int Rows() {
  if constexpr (std::is_same_v<Use, matrix_a>) return M;
  if constexpr (std::is_same_v<Use, matrix_b>) return K;
  return M;
}
template <typename Use, int M, int N, int K>
constexpr int Cols() {
  if constexpr (std::is_same_v<Use, matrix_a>) return K;
  if constexpr (std::is_same_v<Use, matrix_b>) return N;
  return N;
}
inline float ToFloat(float v) { return v; }
inline float ToFloat(__nv_bfloat16 v) { return __bfloat162float(v); }
inline void WarpCall() { __syncwarp(0xffffffffu); }
// The API's rules for a tile in memory: 256-bit aligned, and a stride that is
// a multiple of 16 bytes.
template <typename T>
void CheckTile(const T* p, unsigned ldm) {
  if (reinterpret_cast<uintptr_t>(p) % 32 != 0) cuda_emulator::Violation("WMMA tile pointer is not 256-bit aligned");
  if (ldm * sizeof(T) % 16 != 0) cuda_emulator::Violation("WMMA leading dimension is not a multiple of 16 bytes");
}
}  // namespace detail

// The whole rows x cols tile, row-major, in every lane.
template <typename Use, int M, int N, int K, typename T, typename Layout = void>
struct fragment {
  static constexpr int kRows = detail::Rows<Use, M, N, K>();
  static constexpr int kCols = detail::Cols<Use, M, N, K>();
  static constexpr int num_elements = kRows * kCols;
  float x[num_elements];
};

template <typename Use, int M, int N, int K, typename T, typename Layout>
void fill_fragment(fragment<Use, M, N, K, T, Layout>& f, float value) {
  detail::WarpCall();
  for (float& v : f.x) v = value;
}

// Operand tiles: the fragment's own layout says how memory is read.
template <typename Use, int M, int N, int K, typename T, typename Layout>
void load_matrix_sync(fragment<Use, M, N, K, T, Layout>& f, const T* p, unsigned ldm) {
  static_assert(!std::is_void_v<Layout>, "operand fragments carry their layout");
  detail::WarpCall();
  detail::CheckTile(p, ldm);
  using F = fragment<Use, M, N, K, T, Layout>;
  for (int r = 0; r < F::kRows; ++r) {
    for (int c = 0; c < F::kCols; ++c) {
      const size_t at = std::is_same_v<Layout, row_major> ? size_t(r) * ldm + c : size_t(c) * ldm + r;
      f.x[r * F::kCols + c] = detail::ToFloat(p[at]);
    }
  }
}

template <int M, int N, int K>
void load_matrix_sync(fragment<accumulator, M, N, K, float>& f, const float* p, unsigned ldm, layout_t layout) {
  detail::WarpCall();
  detail::CheckTile(p, ldm);
  for (int r = 0; r < M; ++r) {
    for (int c = 0; c < N; ++c) f.x[r * N + c] = p[layout == mem_row_major ? size_t(r) * ldm + c : size_t(c) * ldm + r];
  }
}

template <int M, int N, int K>
void store_matrix_sync(float* p, const fragment<accumulator, M, N, K, float>& f, unsigned ldm, layout_t layout) {
  detail::WarpCall();
  detail::CheckTile(p, ldm);
  for (int r = 0; r < M; ++r) {
    for (int c = 0; c < N; ++c) p[layout == mem_row_major ? size_t(r) * ldm + c : size_t(c) * ldm + r] = f.x[r * N + c];
  }
}

// d = a·b + c, with a M x K and b K x N.
template <int M, int N, int K, typename T, typename LayoutA, typename LayoutB>
void mma_sync(fragment<accumulator, M, N, K, float>& d, const fragment<matrix_a, M, N, K, T, LayoutA>& a,
              const fragment<matrix_b, M, N, K, T, LayoutB>& b, const fragment<accumulator, M, N, K, float>& c) {
  detail::WarpCall();
  float out[M * N];
  for (int i = 0; i < M; ++i) {
    for (int j = 0; j < N; ++j) {
      float s = c.x[i * N + j];
      for (int kk = 0; kk < K; ++kk) s += a.x[i * K + kk] * b.x[kk * N + j];
      out[i * N + j] = s;
    }
  }
  for (int i = 0; i < M * N; ++i) d.x[i] = out[i];
}

}  // namespace nvcuda::wmma
