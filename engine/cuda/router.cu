#include "engine/cuda/router.h"

#include "engine/cuda/block_reduce.cuh"
#include "engine/cuda/cuda_status.h"

namespace switchyard::engine::cuda {
namespace {

constexpr int kThreads = 256;

// One block per token, a warp per expert: the token's row is read from L1
// by every warp, each router row once per token.
__global__ void RouterKernel(RouterParams p) {
  const int64_t t = blockIdx.x;
  const float* x = p.x + t * p.hidden;
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  for (int e = warp; e < p.num_experts; e += kThreads / 32) {
    const float* w = p.router + static_cast<int64_t>(e) * p.hidden;
    float sum = 0.f;
    for (int i = lane; i < p.hidden; i += 32) sum += x[i] * w[i];
    sum = WarpSum(sum);
    if (lane == 0) p.logits[t * p.num_experts + e] = sum;
  }
}

}  // namespace

absl::Status RouterLogits(const RouterParams& p, cudaStream_t stream) {
  if (p.num_tokens == 0) return absl::OkStatus();
  RouterKernel<<<p.num_tokens, kThreads, 0, stream>>>(p);
  return CheckLaunch("RouterKernel");
}

}  // namespace switchyard::engine::cuda
