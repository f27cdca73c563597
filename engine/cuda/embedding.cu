#include "engine/cuda/embedding.h"

#include "engine/cuda/cuda_status.h"

namespace switchyard::engine::cuda {
namespace {

__global__ void EmbeddingKernel(EmbeddingParams p) {
  const int64_t t = blockIdx.x;
  const __nv_bfloat16* row = p.table + static_cast<int64_t>(p.token_ids[t]) * p.hidden;
  for (int i = threadIdx.x; i < p.hidden; i += blockDim.x) p.out[t * p.hidden + i] = __bfloat162float(row[i]);
}

}  // namespace

absl::Status Embedding(const EmbeddingParams& p, cudaStream_t stream) {
  if (p.num_tokens == 0) return absl::OkStatus();
  EmbeddingKernel<<<p.num_tokens, 256, 0, stream>>>(p);
  return CheckLaunch("EmbeddingKernel");
}

}  // namespace switchyard::engine::cuda
