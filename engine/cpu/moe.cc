#include "engine/cpu/moe.h"

#include <cmath>
#include <cstring>

#include "engine/cpu/matmul.h"
#include "engine/cpu/mlp.h"
#include "engine/cpu/ops.h"
#include "engine/cpu/parallel.h"

namespace switchyard::engine::cpu {
namespace {

// One unit of parallel work: a column tile of one expert's weight matrix.
struct ExpertTile {
  int32_t expert;
  int64_t n_begin, n_end;
};

std::vector<ExpertTile> TilesOf(const DispatchPlan& plan, int64_t columns) {
  std::vector<ExpertTile> tiles;
  for (int32_t e = 0; e < plan.num_experts; ++e) {
    if (plan.expert_counts[e] == 0) continue;  // an expert with no tokens reads no weights
    for (int64_t n = 0; n < columns; n += kColumnTile) tiles.push_back({e, n, std::min(columns, n + kColumnTile)});
  }
  return tiles;
}

// out_perm[rows of e, :] = in_perm[rows of e, :] · stacked[e]ᵀ for every expert.
void GroupedMatMul(const HostTensor& stacked, const DispatchPlan& plan, const float* in_perm, float* out_perm) {
  const int64_t rows_w = stacked.dim(1), cols_w = stacked.dim(2);
  const std::vector<ExpertTile> tiles = TilesOf(plan, rows_w);
  const int64_t rows = static_cast<int64_t>(plan.num_tokens) * plan.top_k;
  const int64_t macs = rows * rows_w * cols_w;
  thread_local std::vector<float> buffer;
  const PreparedRows in = PrepareRows(in_perm, cols_w, rows, cols_w, stacked.dtype(), buffer);
#pragma omp parallel for schedule(dynamic, 1) if (macs >= kMinParallelMacs)
  for (size_t i = 0; i < tiles.size(); ++i) {
    const ExpertTile& t = tiles[i];
    const int64_t r0 = plan.expert_offsets[t.expert];
    MatMulColumns({in.row(r0), in.stride}, plan.expert_counts[t.expert], WeightView::Slice(stacked, t.expert),
                  t.n_begin, t.n_end, out_perm + r0 * rows_w, rows_w);
  }
}

}  // namespace

void RunExperts(const MoeWeights& w, const DispatchPlan& plan, const float* x_perm, MoeWorkspace& ws,
                float* y_perm) {
  const int64_t rows = static_cast<int64_t>(plan.num_tokens) * plan.top_k;
  const int64_t inter = w.experts_down.dim(2);
  ws.gate_up.resize(rows * 2 * inter);
  ws.act.resize(rows * inter);
  GroupedMatMul(w.experts_gate_up, plan, x_perm, ws.gate_up.data());
  SiluMul(ws.gate_up.data(), rows, inter, ws.act.data());
  GroupedMatMul(w.experts_down, plan, ws.act.data(), y_perm);
}

void MoeForward(const MoeWeights& w, const MoeParams& params, const float* x, int32_t num_tokens, float* out,
                int32_t* expert_counts, MoeWorkspace& ws) {
  const int32_t E = static_cast<int32_t>(w.router.dim(0));
  const int64_t H = w.router.dim(1);
  const int32_t k = params.top_k;

  ws.router_logits.resize(static_cast<size_t>(num_tokens) * E);
  MatMul(x, num_tokens, WeightView::Of(w.router), ws.router_logits.data());
  RouteTopK(ws.router_logits.data(), num_tokens, E, k, params.renormalize, &ws.routing);
  BuildDispatchPlan(ws.routing.expert_ids, num_tokens, k, E, &ws.plan);
  for (int32_t e = 0; e < E; ++e) expert_counts[e] += ws.plan.expert_counts[e];

  const int64_t rows = static_cast<int64_t>(num_tokens) * k;
  ws.x_perm.resize(rows * H);
  ws.y_perm.resize(rows * H);
  for (int64_t r = 0; r < rows; ++r) {
    std::memcpy(&ws.x_perm[r * H], x + ws.plan.row_token[r] * H, H * sizeof(float));
  }
  RunExperts(w, ws.plan, ws.x_perm.data(), ws, ws.y_perm.data());

  for (int32_t t = 0; t < num_tokens; ++t) {
    float* o = out + t * H;
    std::fill(o, o + H, 0.f);
    for (int32_t j = 0; j < k; ++j) {
      const float weight = ws.routing.weights[t * k + j];
      const float* y = &ws.y_perm[ws.plan.assignment_row[t * k + j] * H];
      for (int64_t i = 0; i < H; ++i) o[i] += weight * y[i];
    }
  }

  if (!w.shared_expert_gate.empty()) {
    ws.shared_out.resize(static_cast<size_t>(num_tokens) * H);
    const float* shared_out = ws.shared_out.data();
    MlpForward(w.shared_expert, x, num_tokens, ws.shared_out.data(), ws.shared);
    for (int32_t t = 0; t < num_tokens; ++t) {
      float g = 0.f;
      for (int64_t i = 0; i < H; ++i) g += x[t * H + i] * w.shared_expert_gate.f32()[i];
      const float gate = 1.0f / (1.0f + std::exp(-g));
      for (int64_t i = 0; i < H; ++i) out[t * H + i] += gate * shared_out[t * H + i];
    }
  }
}

}  // namespace switchyard::engine::cpu
