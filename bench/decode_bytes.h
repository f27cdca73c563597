// The weight bytes a decode step reads, the numerator of every bandwidth
// fraction the CPU benchmarks report.
#pragma once

#include <cstdint>
#include <vector>

#include "engine/model_weights.h"

namespace switchyard::bench {

// Every dense matrix, the experts the step routed at least one token to
// (`expert_tokens` is ForwardResult::expert_tokens), and one embedding row
// per sequence of the step.
double DecodeStepBytes(const engine::ModelWeights& w, const std::vector<int32_t>& expert_tokens, int sequences = 1);

}  // namespace switchyard::bench
