#include "engine/sampling_state.h"

#include <random>

#include "engine/rng.h"

namespace switchyard::engine {
namespace {

uint64_t RandomSeed() {
  std::random_device device;
  return (static_cast<uint64_t>(device()) << 32) | device();
}

}  // namespace

SamplingState::SamplingState(const SamplingParams& params, absl::Span<const int32_t> prompt_ids)
    : params_(params),
      rng_state_(params.seed.has_value() ? *params.seed : RandomSeed()),
      penalized_(params.repetition_penalty != 1.0f || params.presence_penalty != 0.0f ||
                 params.frequency_penalty != 0.0f) {
  // Only the repetition penalty reads the prompt.
  if (params_.repetition_penalty == 1.0f) return;
  for (int32_t id : prompt_ids) {
    if (seen_index_.try_emplace(id, seen_.size()).second) seen_.push_back({id, 0});
  }
}

void SamplingState::Accept(int32_t token) {
  // One draw per token, whether or not it was drawn (greedy draws none): the
  // stream's position is then the number of tokens generated.
  rng_state_ = SplitMix64::Advance(rng_state_, 1);
  if (!penalized_) return;
  const auto [it, inserted] = seen_index_.try_emplace(token, seen_.size());
  if (inserted) seen_.push_back({token, 0});
  ++seen_[it->second].generated;
}

}  // namespace switchyard::engine
