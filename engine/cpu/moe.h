// The MoE block on the CPU, as one documented operation.
//
// Shape contract (T tokens of the step, H hidden, E experts, k top-k,
// I expert intermediate size):
//   x             [T, H]       float32, the post-attention-normed hidden states
//   router        [E, H]       logits = x · routerᵀ                  -> [T, E]
//   routing       softmax -> top-k (-> renormalise)                 -> ids, weights [T, k]
//   plan          DispatchPlan of ids: counts [E], offsets [E+1], permutation [T·k]
//   x_perm        [T·k, H]     x rows gathered so each expert's rows are contiguous
//   gate_up_e     [n_e, 2I]    = x_perm[rows of e] · experts_gate_up[e]ᵀ   (one GEMM per expert)
//   act_e         [n_e, I]     = silu(gate) · up
//   y_perm_e      [n_e, H]     = act_e · experts_down[e]ᵀ                 (one GEMM per expert)
//   out           [T, H]       out[t] = Σ_j weights[t, j] · y_perm[assignment_row[t·k + j]]
//                              (+ sigmoid(x·shared_gateᵀ) · SharedMlp(x) for Qwen2-MoE)
//   expert_counts [E]          += rows routed to each expert (metrics)
// Each step is its own function so it can be tested on its own.
#pragma once

#include <cstdint>
#include <vector>

#include "engine/dispatch_plan.h"
#include "engine/model_weights.h"
#include "engine/routing.h"

namespace switchyard::engine::cpu {

struct MoeParams {
  int32_t top_k = 0;
  bool renormalize = true;
};

// Buffers reused across layers and steps.
struct MoeWorkspace {
  std::vector<float> router_logits;
  Routing routing;
  DispatchPlan plan;
  std::vector<float> x_perm, gate_up, act, y_perm;
  std::vector<float> shared, shared_out;  // shared expert: MLP scratch, output
};

void MoeForward(const MoeWeights& w, const MoeParams& params, const float* x, int32_t num_tokens, float* out,
                int32_t* expert_counts, MoeWorkspace& ws);

// The expert GEMMs over an already permuted input: x_perm [T·k, H] ->
// y_perm [T·k, H]. Exposed for tests and benchmarks.
void RunExperts(const MoeWeights& w, const DispatchPlan& plan, const float* x_perm, MoeWorkspace& ws,
                float* y_perm);

}  // namespace switchyard::engine::cpu
