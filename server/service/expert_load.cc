#include "server/service/expert_load.h"

namespace switchyard::server {

void FillExpertLoad(const EngineSnapshot& s, int32_t top_k, v1::ExpertLoad& load) {
  const int32_t E = s.num_experts;
  load.set_num_layers(s.num_layers);
  load.set_num_experts(E);
  load.set_top_k(top_k);
  load.set_num_steps(s.num_steps);
  load.set_window_seconds(absl::ToDoubleSeconds(s.expert_load_window));
  for (int32_t layer = 0; layer < s.num_layers && E > 0; ++layer) {
    const size_t first = static_cast<size_t>(layer) * E;
    const auto total = absl::MakeConstSpan(s.expert_tokens).subspan(first, E);
    const auto recent = absl::MakeConstSpan(s.recent_expert_tokens).subspan(first, E);
    const auto last = absl::MakeConstSpan(s.last_step_expert_tokens).subspan(first, E);
    v1::LayerExpertLoad* l = load.add_layers();
    l->set_layer(layer);
    l->mutable_tokens()->Add(total.begin(), total.end());
    l->mutable_recent_tokens()->Add(recent.begin(), recent.end());
    l->mutable_last_step_tokens()->Add(last.begin(), last.end());
    l->set_imbalance(Imbalance(total));
    l->set_recent_imbalance(Imbalance(recent));
    l->set_last_step_imbalance(Imbalance(last));
  }
}

}  // namespace switchyard::server
