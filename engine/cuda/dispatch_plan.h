// The DispatchPlan (engine/dispatch_plan.h) built on the device, with the
// same semantics: a stable counting sort of the (token, choice) assignments
// by expert. Nothing goes back to the host; the grouped GEMM reads the
// offsets from device memory, so the whole MoE layer can be captured in a
// CUDA graph.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

#include "absl/status/status.h"

namespace switchyard::engine::cuda {

// One thread per expert in a single block.
inline constexpr int32_t kMaxDispatchExperts = 1024;

struct DispatchPlanParams {
  const int32_t* expert_ids = nullptr;       // [tokens, top_k]
  const int32_t* num_real_tokens = nullptr;  // [1] on the device: tokens past it are padding
  int32_t num_tokens = 0;                    // rows of expert_ids (padding included)
  int32_t top_k = 0;
  int32_t num_experts = 0;
  int32_t* expert_counts = nullptr;          // [experts]
  int32_t* expert_offsets = nullptr;         // [experts + 1]
  int32_t* row_token = nullptr;              // [tokens * top_k]; rows past the real ones untouched
  int32_t* assignment_row = nullptr;         // [tokens * top_k]; -1 for padding tokens
};

absl::Status BuildDispatchPlanOnDevice(const DispatchPlanParams& p, cudaStream_t stream);

}  // namespace switchyard::engine::cuda
