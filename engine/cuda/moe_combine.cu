#include "engine/cuda/moe_combine.h"

#include "engine/cuda/block_reduce.cuh"
#include "engine/cuda/cuda_status.h"

namespace switchyard::engine::cuda {
namespace {

__global__ void UnpermuteKernel(UnpermuteParams p) {
  const int64_t t = blockIdx.x;
  for (int i = threadIdx.x; i < p.hidden; i += blockDim.x) {
    float sum = 0.f;
    for (int j = 0; j < p.top_k; ++j) {
      const int32_t row = p.assignment_row[t * p.top_k + j];
      if (row < 0) continue;
      sum += p.weights[t * p.top_k + j] * p.y_perm[static_cast<int64_t>(row) * p.hidden + i];
    }
    p.out[t * p.hidden + i] = sum;
  }
}

__global__ void SharedExpertGateKernel(SharedExpertGateParams p) {
  const int64_t row = static_cast<int64_t>(blockIdx.x) * p.hidden;
  float dot = 0.f;
  for (int i = threadIdx.x; i < p.hidden; i += blockDim.x) dot += p.x[row + i] * p.gate[i];
  const float g = 1.0f / (1.0f + expf(-BlockSum(dot)));
  for (int i = threadIdx.x; i < p.hidden; i += blockDim.x) p.out[row + i] += g * p.shared_out[row + i];
}

}  // namespace

absl::Status Unpermute(const UnpermuteParams& p, cudaStream_t stream) {
  if (p.num_tokens == 0) return absl::OkStatus();
  UnpermuteKernel<<<p.num_tokens, 256, 0, stream>>>(p);
  return CheckLaunch("UnpermuteKernel");
}

absl::Status AddGatedSharedExpert(const SharedExpertGateParams& p, cudaStream_t stream) {
  if (p.num_tokens == 0) return absl::OkStatus();
  SharedExpertGateKernel<<<p.num_tokens, 256, 0, stream>>>(p);
  return CheckLaunch("SharedExpertGateKernel");
}

}  // namespace switchyard::engine::cuda
