// Causal attention over the paged KV cache, for a flat batch that mixes
// prefill chunks and decode tokens of many sequences.
#pragma once

#include <cstdint>
#include <vector>

#include "absl/types/span.h"

#include "engine/batch.h"
#include "engine/dtype.h"

namespace switchyard::engine::cpu {

// One layer's cache: K and V each [num_blocks, block_size, num_kv_heads,
// head_dim] of `element` (F32, or BF16: stored rounded to nearest even,
// widened to f32 for the arithmetic).
struct KvLayerView {
  void* k = nullptr;
  void* v = nullptr;
  DType element = DType::kF32;
  int32_t block_size = 0;
  int32_t num_kv_heads = 0;
  int32_t head_dim = 0;
};

// Where each token of a flat batch sits: its sequence and its position there.
// Computed once per step and shared by every layer.
struct TokenPlace {
  int32_t seq;
  int32_t pos;
};
std::vector<TokenPlace> PlaceTokens(const Batch& batch);

// Stores the step's k and v ([tokens, num_kv_heads·head_dim]) at each token's
// position in its sequence's blocks.
void WriteKv(const KvLayerView& cache, const Batch& batch, absl::Span<const TokenPlace> places, const float* k,
             const float* v);

// out[t, h] = softmax(q[t, h] · K[0..p]ᵀ · scale) · V[0..p], with p the
// position of token t in its sequence and K/V from head h / (heads per kv
// head) (grouped-query attention). q and out: [tokens, num_heads·head_dim].
void PagedAttention(const KvLayerView& cache, const Batch& batch, absl::Span<const TokenPlace> places, const float* q,
                    int32_t num_heads, float scale, float* out);

}  // namespace switchyard::engine::cpu
