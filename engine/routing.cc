#include "engine/routing.h"

#include <cmath>

namespace switchyard::engine {

void RouteTopK(const float* router_logits, int32_t num_tokens, int32_t num_experts, int32_t top_k,
               bool renormalize, Routing* out) {
  out->num_tokens = num_tokens;
  out->top_k = top_k;
  out->expert_ids.resize(static_cast<size_t>(num_tokens) * top_k);
  out->weights.resize(static_cast<size_t>(num_tokens) * top_k);
  std::vector<float> probs(num_experts);
  for (int32_t t = 0; t < num_tokens; ++t) {
    const float* logits = router_logits + static_cast<size_t>(t) * num_experts;
    float max_logit = logits[0];
    for (int32_t e = 1; e < num_experts; ++e) max_logit = std::max(max_logit, logits[e]);
    float sum = 0.f;
    for (int32_t e = 0; e < num_experts; ++e) {
      probs[e] = std::exp(logits[e] - max_logit);
      sum += probs[e];
    }
    for (int32_t e = 0; e < num_experts; ++e) probs[e] /= sum;

    // Insertion into a sorted list of k: O(E·k), and k is small (≤ 8 in
    // practice). A strictly greater probability is needed to move ahead, so
    // among equal probabilities the lower index (seen first) stays ahead.
    int32_t* ids = &out->expert_ids[static_cast<size_t>(t) * top_k];
    float* w = &out->weights[static_cast<size_t>(t) * top_k];
    int32_t filled = 0;
    for (int32_t e = 0; e < num_experts; ++e) {
      const float p = probs[e];
      if (filled == top_k && !(p > w[top_k - 1])) continue;
      int32_t pos = filled < top_k ? filled++ : top_k - 1;
      while (pos > 0 && p > w[pos - 1]) {
        w[pos] = w[pos - 1];
        ids[pos] = ids[pos - 1];
        --pos;
      }
      w[pos] = p;
      ids[pos] = e;
    }
    if (renormalize) {
      float total = 0.f;
      for (int32_t j = 0; j < top_k; ++j) total += w[j];
      for (int32_t j = 0; j < top_k; ++j) w[j] /= total;
    }
  }
}

}  // namespace switchyard::engine
