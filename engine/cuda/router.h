// Router logits in float32: logits[t, e] = x[t] · router[e]. The router is
// kept in float32 (weight_layout.h) and computed without tensor cores so that
// expert choices follow the CPU's as closely as the inputs allow.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

#include "absl/status/status.h"

namespace switchyard::engine::cuda {

struct RouterParams {
  const float* x = nullptr;       // [tokens, hidden]
  const float* router = nullptr;  // [experts, hidden]
  int32_t num_tokens = 0;
  int32_t num_experts = 0;
  int32_t hidden = 0;
  float* logits = nullptr;        // [tokens, experts]
};

absl::Status RouterLogits(const RouterParams& p, cudaStream_t stream);

}  // namespace switchyard::engine::cuda
