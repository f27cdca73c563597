// Offline generation of one request on a backend, the engine's simplest
// driver: prefill the prompt, then decode one token per step until a stop
// condition. It owns the whole KV cache while it runs.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "engine/backend.h"
#include "engine/finish_reason.h"
#include "engine/sampler.h"
#include "engine/sampling_params.h"

namespace switchyard::engine {

struct GenerationResult {
  std::vector<SampleResult> tokens;
  FinishReason finish_reason = FinishReason::kLength;  // kLength, kStopToken or kEos
};

absl::StatusOr<GenerationResult> GenerateAlone(Backend& backend, absl::Span<const int32_t> prompt,
                                                const SamplingParams& params);

}  // namespace switchyard::engine
