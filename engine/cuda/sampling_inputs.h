// The host's half of device sampling: a batch's kSample rows packed for
// SampleRows (sampling.h), and which logits rows go back to the host.
#pragma once

#include <cstdint>
#include <vector>

#include "engine/batch.h"
#include "engine/cuda/sampling.h"

namespace switchyard::engine::cuda {

struct SamplingInputs {
  // One per kSample sequence, in batch order (so logits_row increases).
  std::vector<DeviceRowSampling> rows;
  std::vector<TokenCount> seen;  // every row's penalised tokens, back to back
  // The logits rows of kLast and kAll sequences, which are returned as
  // logits, in batch order.
  std::vector<int32_t> returned_rows;
};

// `batch` must have passed ValidateBatch.
SamplingInputs PackSampling(const Batch& batch);

}  // namespace switchyard::engine::cuda
