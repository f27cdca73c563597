// The end of the MoE block: expert outputs back into token order, weighted by
// the routing weights and summed over the k choices, and the Qwen2-MoE
// shared expert added through its sigmoid gate.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

#include "absl/status/status.h"

namespace switchyard::engine::cuda {

struct UnpermuteParams {
  const float* y_perm = nullptr;            // [rows, hidden] expert outputs, permuted order
  const int32_t* assignment_row = nullptr;  // [tokens, top_k]; -1 (padding) contributes nothing
  const float* weights = nullptr;           // [tokens, top_k]
  int32_t num_tokens = 0;
  int32_t top_k = 0;
  int32_t hidden = 0;
  float* out = nullptr;                     // [tokens, hidden]
};

// out[t] = Σ_j weights[t, j] · y_perm[assignment_row[t, j]], j in order.
absl::Status Unpermute(const UnpermuteParams& p, cudaStream_t stream);

struct SharedExpertGateParams {
  const float* x = nullptr;           // [tokens, hidden] the MoE block's input
  const float* gate = nullptr;        // [hidden]
  const float* shared_out = nullptr;  // [tokens, hidden] the shared expert's output
  int32_t num_tokens = 0;
  int32_t hidden = 0;
  float* out = nullptr;               // [tokens, hidden], added to
};

// out[t] += sigmoid(x[t] · gate) · shared_out[t].
absl::Status AddGatedSharedExpert(const SharedExpertGateParams& p, cudaStream_t stream);

}  // namespace switchyard::engine::cuda
