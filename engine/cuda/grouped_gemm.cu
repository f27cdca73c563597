#include "engine/cuda/grouped_gemm.h"

#include <mma.h>

#include "absl/strings/str_cat.h"
#include "engine/cuda/cuda_status.h"

namespace switchyard::engine::cuda {
namespace {

namespace wmma = nvcuda::wmma;

// A 64x64 output tile per block, 4 warps of 32x32 (2x2 WMMA 16x16x16 bf16
// fragments each), the depth walked 32 at a time through shared memory.
constexpr int kBM = 64, kBN = 64, kBK = 32, kThreads = 128;
constexpr int kLds = kBK + 8;  // bf16 row stride of the staged tiles: a multiple of 8, off the bank period
constexpr int kLdc = kBN + 4;  // float row stride of the output tiles
constexpr int kTileBytes = (kBM * kLds + 2 * kBN * kLds) * 2;
constexpr int kOutBytes = 2 * kBM * kLdc * 4;
// The output tiles reuse the staging space once the main loop is done.
constexpr int kSmemBytes = kTileBytes > kOutBytes ? kTileBytes : kOutBytes;

struct TileRows {
  int group;  // -1: nothing to do
  int row0;
  int row_end;
};

// Which group and rows blockIdx.y covers: tiles are numbered group after
// group, ceil(rows_g / kBM) per group.
__device__ TileRows FindTile(const GroupedGemmParams& p) {
  if (p.offsets == nullptr) {
    const int row0 = blockIdx.y * kBM;
    return {row0 < p.m ? 0 : -1, row0, p.m};
  }
  int tile = blockIdx.y;
  for (int g = 0; g < p.num_groups; ++g) {
    const int begin = p.offsets[g], end = p.offsets[g + 1];
    const int tiles = (end - begin + kBM - 1) / kBM;
    if (tile < tiles) return {g, begin + tile * kBM, end};
    tile -= tiles;
  }
  return {-1, 0, 0};
}

template <bool kSiluMul>
__global__ void __launch_bounds__(kThreads) GroupedGemmKernel(GroupedGemmParams p) {
  constexpr int kHalves = kSiluMul ? 2 : 1;  // gate and up, or just one product
  __shared__ __align__(128) unsigned char smem[kSmemBytes];
  __shared__ TileRows tile;
  auto* As = reinterpret_cast<__nv_bfloat16*>(smem);  // [kBM, kLds]
  __nv_bfloat16* Bs = As + kBM * kLds;                 // [kHalves][kBN, kLds]: w rows, i.e. B column-major
  auto* Cs = reinterpret_cast<float*>(smem);           // [kHalves][kBM, kLdc], after the main loop

  if (threadIdx.x == 0) tile = FindTile(p);
  __syncthreads();
  if (tile.group < 0) return;  // the whole block leaves together

  const int n0 = blockIdx.x * kBN;
  const __nv_bfloat16* w = p.w + static_cast<int64_t>(tile.group) * kHalves * p.n * p.k;
  const int warp = threadIdx.x / 32, wm = warp / 2, wn = warp % 2;

  wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc[kHalves][2][2];
  for (int h = 0; h < kHalves; ++h)
    for (int i = 0; i < 2; ++i)
      for (int j = 0; j < 2; ++j) wmma::fill_fragment(acc[h][i][j], 0.f);

  for (int k0 = 0; k0 < p.k; k0 += kBK) {
    // Consecutive threads take consecutive depth: coalesced loads, zeros
    // outside the matrix so that edge tiles need no special case.
    for (int i = threadIdx.x; i < kBM * kBK; i += kThreads) {
      const int r = i / kBK, c = i % kBK;
      const int row = tile.row0 + r, col = k0 + c;
      float v = 0.f;
      if (row < tile.row_end && col < p.k) {
        const int64_t src = p.a_rows != nullptr ? p.a_rows[row] : row;
        v = p.a[src * p.k + col];
      }
      As[r * kLds + c] = __float2bfloat16(v);
    }
    for (int h = 0; h < kHalves; ++h) {
      for (int i = threadIdx.x; i < kBN * kBK; i += kThreads) {
        const int r = i / kBK, c = i % kBK;
        const int col_n = n0 + r, col_k = k0 + c;
        __nv_bfloat16 v = __float2bfloat16(0.f);
        if (col_n < p.n && col_k < p.k) v = w[static_cast<int64_t>(h * p.n + col_n) * p.k + col_k];
        Bs[h * kBN * kLds + r * kLds + c] = v;
      }
    }
    __syncthreads();
    for (int kk = 0; kk < kBK; kk += 16) {
      wmma::fragment<wmma::matrix_a, 16, 16, 16, __nv_bfloat16, wmma::row_major> fa[2];
      for (int i = 0; i < 2; ++i) wmma::load_matrix_sync(fa[i], As + (wm * 32 + i * 16) * kLds + kk, kLds);
      for (int h = 0; h < kHalves; ++h) {
        for (int j = 0; j < 2; ++j) {
          wmma::fragment<wmma::matrix_b, 16, 16, 16, __nv_bfloat16, wmma::col_major> fb;
          wmma::load_matrix_sync(fb, Bs + h * kBN * kLds + (wn * 32 + j * 16) * kLds + kk, kLds);
          for (int i = 0; i < 2; ++i) wmma::mma_sync(acc[h][i][j], fa[i], fb, acc[h][i][j]);
        }
      }
    }
    __syncthreads();
  }

  for (int h = 0; h < kHalves; ++h)
    for (int i = 0; i < 2; ++i)
      for (int j = 0; j < 2; ++j)
        wmma::store_matrix_sync(Cs + h * kBM * kLdc + (wm * 32 + i * 16) * kLdc + wn * 32 + j * 16, acc[h][i][j],
                                kLdc, wmma::mem_row_major);
  __syncthreads();
  for (int i = threadIdx.x; i < kBM * kBN; i += kThreads) {
    const int r = i / kBN, c = i % kBN;
    const int row = tile.row0 + r, col = n0 + c;
    if (row >= tile.row_end || col >= p.n) continue;
    float v = Cs[r * kLdc + c];
    if constexpr (kSiluMul) {
      const float up = Cs[kBM * kLdc + r * kLdc + c];
      v = v / (1.0f + expf(-v)) * up;
    }
    p.out[static_cast<int64_t>(row) * p.n + col] = v;
  }
}

}  // namespace

absl::Status GroupedGemm(const GroupedGemmParams& p, cudaStream_t stream) {
  if (p.num_groups < 1 || p.n < 1 || p.k < 1 || p.m < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("grouped GEMM shape: groups ", p.num_groups, ", m ", p.m, ", n ", p.n, ", k ", p.k));
  }
  if (p.offsets == nullptr && p.num_groups != 1) {
    return absl::InvalidArgumentError("grouped GEMM: several groups need device offsets");
  }
  if (p.m == 0) return absl::OkStatus();
  // Worst case: every group's last tile partly filled.
  const int64_t tiles_y = (int64_t{p.m} + kBM - 1) / kBM + (p.offsets != nullptr ? p.num_groups : 0);
  if (tiles_y > 65535) return absl::InvalidArgumentError(absl::StrCat("grouped GEMM: ", tiles_y, " row tiles"));
  const dim3 grid((p.n + kBN - 1) / kBN, static_cast<unsigned>(tiles_y));
  if (p.silu_mul) {
    GroupedGemmKernel<true><<<grid, kThreads, 0, stream>>>(p);
  } else {
    GroupedGemmKernel<false><<<grid, kThreads, 0, stream>>>(p);
  }
  return CheckLaunch("GroupedGemmKernel");
}

}  // namespace switchyard::engine::cuda
