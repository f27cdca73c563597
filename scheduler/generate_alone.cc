#include "scheduler/generate_alone.h"

#include <algorithm>

#include "common/status_macros.h"
#include "scheduler/engine_loop.h"

namespace switchyard::scheduler {

absl::StatusOr<GenerationResult> GenerateAlone(engine::Backend& backend, absl::Span<const int32_t> prompt,
                                                const engine::SamplingParams& params) {
  SchedulerConfig config;
  config.max_num_seqs = 1;
  // The whole prompt in one step where the backend can run it: no chunking
  // for a request that is alone.
  config.max_num_batched_tokens = std::clamp<int32_t>(static_cast<int32_t>(prompt.size()), 1,
                                                      backend.step_capacity().max_tokens);
  config.max_waiting = 1;
  ASSIGN_OR_RETURN(std::unique_ptr<EngineLoop> loop, EngineLoop::Create(backend, config));

  GenerationResult result;
  absl::Status failure;
  EngineRequest request;
  request.prompt_ids.assign(prompt.begin(), prompt.end());
  request.sampling = params;
  request.on_output = [&](const RequestOutput& output) {
    if (!output.error.ok()) failure = output.error;
    if (output.token) result.tokens.push_back(*output.token);
    if (output.finish) result.finish_reason = *output.finish;
  };
  RETURN_IF_ERROR(loop->Submit(std::move(request)));
  RETURN_IF_ERROR(loop->RunUntilIdle());
  RETURN_IF_ERROR(failure);
  return result;
}

}  // namespace switchyard::scheduler
