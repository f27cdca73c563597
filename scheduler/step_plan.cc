#include "scheduler/step_plan.h"

namespace switchyard::scheduler {

void BuildBatch(const StepPlan& plan, engine::Batch& batch) {
  batch.token_ids.clear();
  batch.sequences.clear();
  for (const ScheduledChunk& c : plan.chunks) {
    const auto first = c.seq->tokens.begin() + c.num_cached;
    batch.token_ids.insert(batch.token_ids.end(), first, first + c.num_tokens);
    batch.sequences.push_back({c.num_tokens, c.num_cached, c.seq->block_table,
                               c.samples ? engine::LogitsMode::kSample : engine::LogitsMode::kNone});
  }
}

}  // namespace switchyard::scheduler
