#include "engine/dispatch_plan.h"

#include <algorithm>

namespace switchyard::engine {

void BuildDispatchPlan(absl::Span<const int32_t> expert_ids, int32_t num_tokens, int32_t top_k,
                       int32_t num_experts, DispatchPlan* plan) {
  const int32_t n = num_tokens * top_k;
  plan->num_tokens = num_tokens;
  plan->top_k = top_k;
  plan->num_experts = num_experts;
  plan->expert_counts.assign(num_experts, 0);
  plan->expert_offsets.assign(num_experts + 1, 0);
  plan->row_token.resize(n);
  plan->assignment_row.resize(n);

  for (int32_t a = 0; a < n; ++a) ++plan->expert_counts[expert_ids[a]];
  for (int32_t e = 0; e < num_experts; ++e) {
    plan->expert_offsets[e + 1] = plan->expert_offsets[e] + plan->expert_counts[e];
  }
  // Stable scatter: assignments are visited in token order, so each expert's
  // rows stay in token order.
  std::vector<int32_t> cursor(plan->expert_offsets.begin(), plan->expert_offsets.end() - 1);
  for (int32_t a = 0; a < n; ++a) {
    const int32_t row = cursor[expert_ids[a]]++;
    plan->row_token[row] = a / top_k;
    plan->assignment_row[a] = row;
  }
}

}  // namespace switchyard::engine
