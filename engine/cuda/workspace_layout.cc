#include "engine/cuda/workspace_layout.h"

#include <algorithm>

#include "engine/backend.h"
#include "engine/cuda/weight_layout.h"

namespace switchyard::engine::cuda {
namespace {

class Allocator {
 public:
  explicit Allocator(int64_t& total) : total_(total) {}
  // Reserves `count` elements of 4 bytes (every workspace type is int32 or float).
  int64_t Take(int64_t count) {
    const int64_t offset = (total_ + kDeviceAlignment - 1) / kDeviceAlignment * kDeviceAlignment;
    total_ = offset + std::max<int64_t>(count, 1) * 4;
    return offset;
  }

 private:
  int64_t& total_;
};

}  // namespace

WorkspaceLayout PlanWorkspace(const ModelConfig& m, const CudaBackendConfig& config, int32_t block_size) {
  WorkspaceLayout w;
  w.max_tokens = config.max_num_tokens;
  w.max_seqs = config.max_num_seqs;
  w.max_logit_rows = config.max_logit_rows;
  w.blocks_per_seq = static_cast<int32_t>(KvBlocksFor(m.max_position_embeddings, block_size));

  const int64_t T = w.max_tokens, H = m.hidden_size, E = m.num_experts, k = m.top_k, L = m.num_layers;
  const int64_t act = std::max({T * k * m.expert_intermediate_size, T * int64_t{m.dense_intermediate_size},
                                T * int64_t{m.shared_expert_intermediate_size}});
  Allocator a(w.total_bytes);
  w.token_ids = a.Take(T);
  w.positions = a.Take(T);
  w.context_lens = a.Take(T);
  w.kv_slots = a.Take(T);
  w.token_seqs = a.Take(T);
  w.block_tables = a.Take(int64_t{w.max_seqs} * w.blocks_per_seq);
  w.logit_rows = a.Take(T);
  w.num_real_tokens = a.Take(1);

  w.x = a.Take(T * H);
  w.delta = a.Take(T * H);
  w.h = a.Take(T * H);
  w.q = a.Take(T * m.q_size());
  w.k = a.Take(T * m.kv_size());
  w.v = a.Take(T * m.kv_size());
  w.attn = a.Take(T * m.q_size());

  w.router_logits = a.Take(T * E);
  w.topk_ids = a.Take(T * k);
  w.topk_weights = a.Take(T * k);
  w.expert_counts = a.Take(L * E);
  w.expert_offsets = a.Take(E + 1);
  w.row_token = a.Take(T * k);
  w.assignment_row = a.Take(T * k);
  w.act = a.Take(act);
  w.y_perm = a.Take(T * k * H);
  w.shared_out = a.Take(m.shared_expert_intermediate_size > 0 ? T * H : 0);

  w.logits = a.Take(int64_t{w.max_logit_rows} * m.vocab_size);
  w.routed_experts = a.Take(T * L * k);
  return w;
}

}  // namespace switchyard::engine::cuda
