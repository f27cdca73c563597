// The paged KV cache of one layer on the device: K and V each
// [num_blocks · block_size, num_kv_heads, head_dim] bf16, so a token's slot
// is block · block_size + offset (StepInputs::kv_slots).
#pragma once

#include <cuda_bf16.h>
#include <cuda_runtime_api.h>

#include <cstdint>

#include "absl/status/status.h"

namespace switchyard::engine::cuda {

struct WriteKvParams {
  const float* k = nullptr;          // [tokens, kv_size]
  const float* v = nullptr;          // [tokens, kv_size]
  const int32_t* slots = nullptr;    // [tokens]; -1 (padding) writes nothing
  int32_t num_tokens = 0;
  int32_t kv_size = 0;               // num_kv_heads * head_dim
  __nv_bfloat16* k_cache = nullptr;
  __nv_bfloat16* v_cache = nullptr;
};

// Stores the step's k and v, rounded to bf16, at each token's slot.
absl::Status WriteKv(const WriteKvParams& p, cudaStream_t stream);

}  // namespace switchyard::engine::cuda
