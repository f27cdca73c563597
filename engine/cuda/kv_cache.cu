#include "engine/cuda/kv_cache.h"

#include "engine/cuda/cuda_status.h"

namespace switchyard::engine::cuda {
namespace {

__global__ void WriteKvKernel(WriteKvParams p) {
  const int64_t t = blockIdx.x;
  const int32_t slot = p.slots[t];
  if (slot < 0) return;
  const int64_t dst = static_cast<int64_t>(slot) * p.kv_size;
  for (int i = threadIdx.x; i < p.kv_size; i += blockDim.x) {
    p.k_cache[dst + i] = __float2bfloat16(p.k[t * p.kv_size + i]);
    p.v_cache[dst + i] = __float2bfloat16(p.v[t * p.kv_size + i]);
  }
}

}  // namespace

absl::Status WriteKv(const WriteKvParams& p, cudaStream_t stream) {
  if (p.num_tokens == 0) return absl::OkStatus();
  WriteKvKernel<<<p.num_tokens, 128, 0, stream>>>(p);
  return CheckLaunch("WriteKvKernel");
}

}  // namespace switchyard::engine::cuda
