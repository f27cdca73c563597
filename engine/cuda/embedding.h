// Embedding lookup: out[t] = table[token_ids[t]] widened to float32.
#pragma once

#include <cuda_bf16.h>
#include <cuda_runtime_api.h>

#include <cstdint>

#include "absl/status/status.h"

namespace switchyard::engine::cuda {

struct EmbeddingParams {
  const int32_t* token_ids = nullptr;      // [tokens]
  const __nv_bfloat16* table = nullptr;    // [vocab, hidden]
  int32_t num_tokens = 0;
  int32_t hidden = 0;
  float* out = nullptr;                    // [tokens, hidden]
};

absl::Status Embedding(const EmbeddingParams& p, cudaStream_t stream);

}  // namespace switchyard::engine::cuda
