// One request alone through the serving engine's loop: what the offline
// `switchyard generate` command runs, and the tests' reference for batching.
// There is one generation loop (EngineLoop) and one stop rule, so a request
// ends the same way alone, in a batch and behind the server.
#pragma once

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "engine/backend.h"
#include "engine/batch.h"
#include "engine/sampling_params.h"
#include "scheduler/sequence.h"

namespace switchyard::scheduler {

struct GenerationResult {
  std::vector<engine::SampleResult> tokens;
  FinishReason finish_reason = FinishReason::kLength;  // kLength, kStopToken or kEos
};

// The prompt is prefilled in one step (in chunks of the backend's step
// capacity where it is longer), then one token is decoded per step.
// Errors are EngineLoop::Submit's (a bad prompt or sampling parameter, a
// request longer than the context or the KV cache) and a failed step's.
absl::StatusOr<GenerationResult> GenerateAlone(engine::Backend& backend, absl::Span<const int32_t> prompt,
                                                const engine::SamplingParams& params);

}  // namespace switchyard::scheduler
