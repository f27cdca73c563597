#include "engine/cuda/argmax.h"

#include <cmath>

#include "engine/cuda/cuda_status.h"

namespace switchyard::engine::cuda {
namespace {

constexpr int kThreads = 256;

// (value, index) pairs ordered by value, then by the lower index.
__device__ inline bool Better(float v, int32_t i, float best_v, int32_t best_i) {
  return v > best_v || (v == best_v && i < best_i);
}

__global__ void ArgmaxKernel(ArgmaxParams p) {
  __shared__ float values[kThreads / 32];
  __shared__ int32_t indices[kThreads / 32];
  const float* row = p.logits + static_cast<int64_t>(blockIdx.x) * p.vocab;
  float best_v = -INFINITY;
  int32_t best_i = p.vocab;  // loses to any real index
  for (int32_t i = threadIdx.x; i < p.vocab; i += blockDim.x) {
    if (Better(row[i], i, best_v, best_i)) best_v = row[i], best_i = i;
  }
  for (int offset = 16; offset > 0; offset /= 2) {
    const float v = __shfl_xor_sync(0xffffffffu, best_v, offset);
    const int32_t i = __shfl_xor_sync(0xffffffffu, best_i, offset);
    if (Better(v, i, best_v, best_i)) best_v = v, best_i = i;
  }
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  if (lane == 0) values[warp] = best_v, indices[warp] = best_i;
  __syncthreads();
  if (threadIdx.x == 0) {
    for (int w = 1; w < kThreads / 32; ++w) {
      if (Better(values[w], indices[w], best_v, best_i)) best_v = values[w], best_i = indices[w];
    }
    // A row of NaNs (or all -inf) has no maximum: report token 0.
    p.out[blockIdx.x] = best_i < p.vocab ? best_i : 0;
  }
}

}  // namespace

absl::Status ArgmaxRows(const ArgmaxParams& p, cudaStream_t stream) {
  if (p.rows == 0) return absl::OkStatus();
  ArgmaxKernel<<<p.rows, kThreads, 0, stream>>>(p);
  return CheckLaunch("ArgmaxKernel");
}

}  // namespace switchyard::engine::cuda
