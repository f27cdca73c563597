#include "engine/cuda/rope.h"

#include "engine/cuda/cuda_status.h"

namespace switchyard::engine::cuda {
namespace {

// One block per token; a thread per (head, pair). Precise cosf/sinf (no
// fast-math) keep the angles within float rounding of the CPU's.
__global__ void RopeKernel(RopeParams p) {
  const int64_t t = blockIdx.x;
  const int half = p.head_dim / 2;
  const float pos = static_cast<float>(p.positions[t]);
  for (int item = threadIdx.x; item < p.num_heads * half; item += blockDim.x) {
    const int h = item / half, i = item % half;
    const float inv_freq = static_cast<float>(1.0 / pow(p.theta, static_cast<double>(2 * i) / p.head_dim));
    const float angle = pos * inv_freq;
    const float c = cosf(angle), s = sinf(angle);
    float* v = p.x + (t * p.num_heads + h) * p.head_dim;
    const float a = v[i], b = v[i + half];
    v[i] = a * c - b * s;
    v[i + half] = b * c + a * s;
  }
}

}  // namespace

absl::Status ApplyRope(const RopeParams& p, cudaStream_t stream) {
  if (p.num_tokens == 0) return absl::OkStatus();
  RopeKernel<<<p.num_tokens, 128, 0, stream>>>(p);
  return CheckLaunch("RopeKernel");
}

}  // namespace switchyard::engine::cuda
