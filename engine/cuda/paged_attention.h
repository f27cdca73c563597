// Causal attention over the paged KV cache for a flat batch that mixes
// prefill chunks and decode tokens, with grouped-query heads, as
// cpu::PagedAttention:
//   out[t, h] = softmax(q[t, h] · K[0..ctx_t)ᵀ · scale) · V[0..ctx_t)
// where ctx_t = context_lens[t] (the token's position + 1; 0 gives zeros) and
// K/V are kv head h / (num_heads / num_kv_heads) of the token's sequence.
// The step's own K/V must already be in the cache (WriteKv).
#pragma once

#include <cuda_bf16.h>
#include <cuda_runtime_api.h>

#include <cstdint>

#include "absl/status/status.h"

namespace switchyard::engine::cuda {

struct PagedAttentionParams {
  const float* q = nullptr;                    // [tokens, num_heads * head_dim]
  const __nv_bfloat16* k_cache = nullptr;      // one layer, see kv_cache.h
  const __nv_bfloat16* v_cache = nullptr;
  const int32_t* block_tables = nullptr;       // [seqs, blocks_per_seq]
  const int32_t* token_seqs = nullptr;         // [tokens]
  const int32_t* context_lens = nullptr;       // [tokens]
  int32_t num_tokens = 0;
  int32_t num_heads = 0;
  int32_t num_kv_heads = 0;
  int32_t head_dim = 0;
  int32_t block_size = 0;
  int32_t blocks_per_seq = 0;
  float scale = 1.0f;
  float* out = nullptr;                        // [tokens, num_heads * head_dim]
};

// INVALID_ARGUMENT unless num_heads is a multiple of num_kv_heads and a kv
// head's group of query heads fits a block's shared memory (group · head_dim
// up to ~4096): what PagedAttention needs of a model, checked at load.
absl::Status CheckPagedAttentionShape(int32_t num_heads, int32_t num_kv_heads, int32_t head_dim);

// Fails as CheckPagedAttentionShape does.
absl::Status PagedAttention(const PagedAttentionParams& p, cudaStream_t stream);

}  // namespace switchyard::engine::cuda
