// Greedy decoding on the device: the index of each row's largest logit,
// the lowest index among equal maxima. Not yet wired into the engine loop,
// which samples on the host from the returned logits.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

#include "absl/status/status.h"

namespace switchyard::engine::cuda {

struct ArgmaxParams {
  const float* logits = nullptr;  // [rows, vocab]
  int32_t rows = 0;
  int32_t vocab = 0;
  int32_t* out = nullptr;         // [rows]
};

absl::Status ArgmaxRows(const ArgmaxParams& p, cudaStream_t stream);

}  // namespace switchyard::engine::cuda
