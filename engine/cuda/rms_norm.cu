#include "engine/cuda/rms_norm.h"

#include "engine/cuda/block_reduce.cuh"
#include "engine/cuda/cuda_status.h"

namespace switchyard::engine::cuda {
namespace {

constexpr int kThreads = 256;

// One block per row. Each thread reads back only the elements it wrote, so
// the in-place forms need no extra synchronisation.
template <bool kAddResidual>
__global__ void RmsNormKernel(RmsNormParams p) {
  float* x = p.x + static_cast<int64_t>(blockIdx.x) * p.n;
  float* out = p.out + static_cast<int64_t>(blockIdx.x) * p.n;
  float sum = 0.f;
  for (int i = threadIdx.x; i < p.n; i += blockDim.x) {
    float v = x[i];
    if constexpr (kAddResidual) {
      v += p.delta[static_cast<int64_t>(blockIdx.x) * p.n + i];
      x[i] = v;
    }
    sum += v * v;
  }
  sum = BlockSum(sum);
  const float scale = 1.0f / sqrtf(sum / static_cast<float>(p.n) + p.eps);
  for (int i = threadIdx.x; i < p.n; i += blockDim.x) out[i] = p.weight[i] * (x[i] * scale);
}

}  // namespace

absl::Status RmsNorm(const RmsNormParams& p, cudaStream_t stream) {
  if (p.rows == 0) return absl::OkStatus();
  RmsNormKernel<false><<<p.rows, kThreads, 0, stream>>>(p);
  return CheckLaunch("RmsNormKernel");
}

absl::Status AddRmsNorm(const RmsNormParams& p, cudaStream_t stream) {
  if (p.rows == 0) return absl::OkStatus();
  RmsNormKernel<true><<<p.rows, kThreads, 0, stream>>>(p);
  return CheckLaunch("AddRmsNormKernel");
}

}  // namespace switchyard::engine::cuda
