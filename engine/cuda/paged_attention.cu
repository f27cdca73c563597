#include "engine/cuda/paged_attention.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "engine/cuda/block_reduce.cuh"
#include "engine/cuda/cuda_status.h"

namespace switchyard::engine::cuda {
namespace {

constexpr int kThreads = 128;     // 4 warps
constexpr int kTile = kThreads;   // cache positions per iteration, one per thread
constexpr size_t kMaxSharedBytes = 48 * 1024;

size_t SharedBytes(int group, int head_dim) {
  // q and acc [group, head_dim], scores [group, tile], max/sum/rescale [group]
  // as float, then the tile's cache slots as int32.
  return (2 * size_t(group) * head_dim + size_t(group) * kTile + 3 * size_t(group)) * sizeof(float) +
         kTile * sizeof(int32_t);
}

// One block per (token, kv head): the kv head's K/V rows are read once for
// all the query heads that share them (GQA), which is what decode is bound
// by. Online softmax over tiles of kTile positions: each thread scores one
// position for every query head of the group, a warp per head rescales the
// running max and sum, then threads over (head, dim) accumulate V.
__global__ void PagedAttentionKernel(PagedAttentionParams p) {
  extern __shared__ float smem[];
  const int group = p.num_heads / p.num_kv_heads;
  const int D = p.head_dim;
  float* q_s = smem;                         // [group, D], pre-scaled
  float* acc = q_s + group * D;              // [group, D]
  float* scores = acc + group * D;           // [group, kTile]
  float* run_max = scores + group * kTile;   // [group]
  float* run_sum = run_max + group;          // [group]
  float* rescale = run_sum + group;          // [group]
  int32_t* slots = reinterpret_cast<int32_t*>(rescale + group);  // [kTile]

  const int64_t t = blockIdx.x;
  const int kvh = blockIdx.y;
  const int tid = threadIdx.x, lane = tid % 32, warp = tid / 32;
  const int ctx = p.context_lens[t];
  const int32_t* table = p.block_tables + static_cast<int64_t>(p.token_seqs[t]) * p.blocks_per_seq;
  const int64_t q_row = t * p.num_heads * D + static_cast<int64_t>(kvh) * group * D;

  for (int e = tid; e < group * D; e += kThreads) {
    q_s[e] = p.q[q_row + e] * p.scale;
    acc[e] = 0.f;
  }
  for (int g = tid; g < group; g += kThreads) {
    run_max[g] = -INFINITY;
    run_sum[g] = 0.f;
  }
  __syncthreads();

  for (int tile = 0; tile < ctx; tile += kTile) {
    const int n = min(kTile, ctx - tile);
    if (tid < n) {
      const int pos = tile + tid;
      const int32_t slot = table[pos / p.block_size] * p.block_size + pos % p.block_size;
      slots[tid] = slot;
      const __nv_bfloat16* k = p.k_cache + (static_cast<int64_t>(slot) * p.num_kv_heads + kvh) * D;
      for (int g = 0; g < group; ++g) scores[g * kTile + tid] = 0.f;
      for (int d = 0; d < D; ++d) {
        const float kd = __bfloat162float(k[d]);
        for (int g = 0; g < group; ++g) scores[g * kTile + tid] += q_s[g * D + d] * kd;
      }
    }
    __syncthreads();

    for (int g = warp; g < group; g += kThreads / 32) {
      float* s = scores + g * kTile;
      float tile_max = -INFINITY;
      for (int j = lane; j < n; j += 32) tile_max = fmaxf(tile_max, s[j]);
      const float new_max = fmaxf(run_max[g], WarpMax(tile_max));
      float sum = 0.f;
      for (int j = lane; j < n; j += 32) {
        s[j] = expf(s[j] - new_max);
        sum += s[j];
      }
      sum = WarpSum(sum);
      if (lane == 0) {
        const float r = expf(run_max[g] - new_max);  // 0 on the first tile
        rescale[g] = r;
        run_sum[g] = run_sum[g] * r + sum;
        run_max[g] = new_max;
      }
    }
    __syncthreads();

    for (int e = tid; e < group * D; e += kThreads) {
      const int g = e / D, d = e % D;
      const float* w = scores + g * kTile;
      float a = acc[e] * rescale[g];
      for (int j = 0; j < n; ++j) {
        a += w[j] * __bfloat162float(p.v_cache[(static_cast<int64_t>(slots[j]) * p.num_kv_heads + kvh) * D + d]);
      }
      acc[e] = a;
    }
    __syncthreads();
  }

  for (int e = tid; e < group * D; e += kThreads) {
    p.out[q_row + e] = ctx > 0 ? acc[e] / run_sum[e / D] : 0.f;
  }
}

}  // namespace

absl::Status CheckPagedAttentionShape(int32_t num_heads, int32_t num_kv_heads, int32_t head_dim) {
  if (num_kv_heads < 1 || num_heads % num_kv_heads != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("num_heads ", num_heads, " is not a multiple of num_kv_heads ", num_kv_heads));
  }
  const int group = num_heads / num_kv_heads;
  if (const size_t shared = SharedBytes(group, head_dim); shared > kMaxSharedBytes) {
    return absl::InvalidArgumentError(absl::StrCat("paged attention: ", group, " query heads per kv head of dim ",
                                                   head_dim, " need ", shared, " bytes of shared memory"));
  }
  return absl::OkStatus();
}

absl::Status PagedAttention(const PagedAttentionParams& p, cudaStream_t stream) {
  if (p.num_tokens == 0) return absl::OkStatus();
  if (absl::Status shape = CheckPagedAttentionShape(p.num_heads, p.num_kv_heads, p.head_dim); !shape.ok()) {
    return shape;
  }
  const size_t shared = SharedBytes(p.num_heads / p.num_kv_heads, p.head_dim);
  const dim3 grid(p.num_tokens, p.num_kv_heads);
  PagedAttentionKernel<<<grid, kThreads, shared, stream>>>(p);
  return CheckLaunch("PagedAttentionKernel");
}

}  // namespace switchyard::engine::cuda
