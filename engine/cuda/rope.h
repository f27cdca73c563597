// Rotary embedding, Hugging Face "rotate_half" layout, as cpu::ApplyRope:
// within each head, element i pairs with i + head_dim/2 and rotates by
// position · theta^(-2i/head_dim), the inverse frequency rounded to float32
// as transformers computes it.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

#include "absl/status/status.h"

namespace switchyard::engine::cuda {

struct RopeParams {
  float* x = nullptr;                // [tokens, num_heads * head_dim], in place
  const int32_t* positions = nullptr;  // [tokens]
  int32_t num_tokens = 0;
  int32_t num_heads = 0;
  int32_t head_dim = 0;  // even
  double theta = 10000.0;
};

absl::Status ApplyRope(const RopeParams& p, cudaStream_t stream);

}  // namespace switchyard::engine::cuda
