#include "bench/decode_bytes.h"

namespace switchyard::bench {

double DecodeStepBytes(const engine::ModelWeights& w, const std::vector<int32_t>& expert_tokens, int sequences) {
  double bytes = w.final_norm.nbytes() + w.lm_head().nbytes() + sequences * (w.embed.nbytes() / w.embed.dim(0));
  const int E = w.config.num_experts;
  for (size_t l = 0; l < w.layers.size(); ++l) {
    const engine::LayerWeights& L = w.layers[l];
    for (const engine::HostTensor* t : {&L.input_norm, &L.post_attention_norm, &L.q_proj, &L.k_proj, &L.v_proj, &L.o_proj,
                                &L.q_bias, &L.k_bias, &L.v_bias, &L.o_bias, &L.q_norm, &L.k_norm, &L.mlp.gate_up,
                                &L.mlp.down, &L.moe.router, &L.moe.shared_expert.gate_up, &L.moe.shared_expert.down,
                                &L.moe.shared_expert_gate}) {
      bytes += t->nbytes();
    }
    if (!L.is_moe) continue;
    const double per_expert = (L.moe.experts_gate_up.nbytes() + L.moe.experts_down.nbytes()) / double(E);
    for (int e = 0; e < E; ++e) bytes += expert_tokens[l * E + e] > 0 ? per_expert : 0;
  }
  return bytes;
}

}  // namespace switchyard::bench
