// Routing on the device: the fused softmax -> top-k -> renormalise of
// engine::RouteTopK, with its tie rule (higher probability first, then the
// lower expert index), and the bookkeeping of which experts the tokens of
// the logits rows went to.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

#include "absl/status/status.h"

namespace switchyard::engine::cuda {

// The largest top_k the routing kernel holds in registers.
inline constexpr int32_t kMaxTopK = 16;

struct TopKRoutingParams {
  const float* logits = nullptr;  // [tokens, experts]
  int32_t num_tokens = 0;
  int32_t num_experts = 0;
  int32_t top_k = 0;              // 1..kMaxTopK, <= num_experts
  bool renormalize = true;
  int32_t* expert_ids = nullptr;  // [tokens, top_k], best first
  float* weights = nullptr;       // [tokens, top_k]
};

absl::Status TopKRouting(const TopKRoutingParams& p, cudaStream_t stream);

struct GatherRoutedParams {
  const int32_t* expert_ids = nullptr;  // [tokens, top_k] of this layer
  const int32_t* rows = nullptr;        // [num_rows] token of each logits row
  int32_t num_rows = 0;
  int32_t layer = 0;
  int32_t num_layers = 0;
  int32_t top_k = 0;
  int32_t* routed = nullptr;            // [num_rows, num_layers, top_k]
};

// routed[r, layer, :] = expert_ids[rows[r], :] (ForwardResult::routed_experts).
absl::Status GatherRoutedExperts(const GatherRoutedParams& p, cudaStream_t stream);

}  // namespace switchyard::engine::cuda
