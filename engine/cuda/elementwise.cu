#include "engine/cuda/elementwise.h"

#include "engine/cuda/cuda_status.h"

namespace switchyard::engine::cuda {
namespace {

__global__ void AddBiasKernel(float* x, const float* bias, int32_t n) {
  float* row = x + static_cast<int64_t>(blockIdx.x) * n;
  for (int i = threadIdx.x; i < n; i += blockDim.x) row[i] += bias[i];
}

__global__ void ClampKernel(float* x, int64_t count, float limit) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < count) x[i] = fminf(fmaxf(x[i], -limit), limit);
}

}  // namespace

absl::Status AddBias(float* x, const float* bias, int32_t rows, int32_t n, cudaStream_t stream) {
  if (rows == 0) return absl::OkStatus();
  AddBiasKernel<<<rows, 128, 0, stream>>>(x, bias, n);
  return CheckLaunch("AddBiasKernel");
}

absl::Status Clamp(float* x, int64_t count, float limit, cudaStream_t stream) {
  if (count == 0) return absl::OkStatus();
  constexpr int kThreads = 256;
  ClampKernel<<<static_cast<unsigned>((count + kThreads - 1) / kThreads), kThreads, 0, stream>>>(x, count, limit);
  return CheckLaunch("ClampKernel");
}

}  // namespace switchyard::engine::cuda
