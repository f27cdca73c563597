// The device workspace of one forward step, as byte offsets into a single
// allocation sized at start-up for the configured capacities. Every buffer a
// step touches lives here at a fixed address, which is what lets a captured
// decode graph be replayed step after step.
#pragma once

#include <cstdint>

#include "engine/cuda/cuda_backend_config.h"
#include "engine/model_config.h"

namespace switchyard::engine::cuda {

struct WorkspaceLayout {
  // Capacities the buffers are sized for.
  int32_t max_tokens = 0, max_seqs = 0, max_logit_rows = 0, blocks_per_seq = 0;

  // Step inputs, int32 (StepInputs): [T] each, block tables [S, blocks_per_seq],
  // logit rows [T], and the number of real (unpadded) tokens [1].
  int64_t token_ids = 0, positions = 0, context_lens = 0, kv_slots = 0, token_seqs = 0;
  int64_t block_tables = 0, logit_rows = 0, num_real_tokens = 0;

  // Activations, float32: residual stream, the delta added to it next, the
  // normed input of a block, q/k/v and the attention output.
  int64_t x = 0, delta = 0, h = 0, q = 0, k = 0, v = 0, attn = 0;

  // MoE: router logits [T, E] f32, top-k ids int32 and weights f32 [T, k], the
  // dispatch plan (int32: counts [L, E] of the whole step, offsets [E + 1],
  // row_token and assignment_row [T·k]), the SiLU·up activations (f32, the
  // largest of experts, dense MLP and shared expert), the expert outputs in
  // permuted order [T·k, H] and the shared expert's output [T, H].
  int64_t router_logits = 0, topk_ids = 0, topk_weights = 0;
  int64_t expert_counts = 0, expert_offsets = 0, row_token = 0, assignment_row = 0;
  int64_t act = 0, y_perm = 0, shared_out = 0;

  // Output: logits [max_logit_rows, V] f32, and the experts chosen for the
  // token of each logits row, int32 [T, L, k].
  int64_t logits = 0, routed_experts = 0;

  int64_t total_bytes = 0;
};

WorkspaceLayout PlanWorkspace(const ModelConfig& model, const CudaBackendConfig& config, int32_t block_size);

}  // namespace switchyard::engine::cuda
