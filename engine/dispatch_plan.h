// DispatchPlan: the expert grouping of one MoE step ("the switchyard").
//
// Given the top-k expert ids of T tokens, the T·k (token, choice) assignments
// are sorted by expert with a stable counting sort, so that the rows an expert
// must process are contiguous and each expert runs once as one GEMM:
//
//   permuted row r (in [offsets[e], offsets[e+1]) for expert e)
//       <- token row_token[r]
//   assignment (t, j) -> permuted row assignment_row[t*k + j]
//
// Within an expert, rows keep token order. The CUDA backend builds the same
// plan on the device with identical semantics.
#pragma once

#include <cstdint>
#include <vector>

#include "absl/types/span.h"

namespace switchyard::engine {

struct DispatchPlan {
  int32_t num_tokens = 0;
  int32_t top_k = 0;
  int32_t num_experts = 0;
  std::vector<int32_t> expert_counts;   // [E] rows routed to each expert
  std::vector<int32_t> expert_offsets;  // [E + 1] prefix sum of expert_counts
  std::vector<int32_t> row_token;       // [T·k] source token of each permuted row
  std::vector<int32_t> assignment_row;  // [T·k] permuted row of assignment (t, j)
};

// expert_ids: [num_tokens, top_k], each in [0, num_experts).
void BuildDispatchPlan(absl::Span<const int32_t> expert_ids, int32_t num_tokens, int32_t top_k,
                       int32_t num_experts, DispatchPlan* plan);

}  // namespace switchyard::engine
