// Routing: which experts each token goes to, and with what weight.
#pragma once

#include <cstdint>
#include <vector>

namespace switchyard::engine {

struct Routing {
  int32_t num_tokens = 0;
  int32_t top_k = 0;
  std::vector<int32_t> expert_ids;  // [num_tokens, top_k], best first
  std::vector<float> weights;       // [num_tokens, top_k]
};

// router_logits [num_tokens, num_experts] -> softmax (float) -> top-k -> when
// `renormalize`, the k weights divided by their sum (Mixtral always; Qwen and
// OLMoE when norm_topk_prob). Ties break deterministically: higher
// probability first, then lower expert index.
void RouteTopK(const float* router_logits, int32_t num_tokens, int32_t num_experts, int32_t top_k,
               bool renormalize, Routing* out);

}  // namespace switchyard::engine
