// SamplingState: what sampling remembers about one request between steps (its
// random stream's position and the tokens its penalties act on), kept by the
// engine loop and handed to the backend with each step as a RowSampling
// (batch.h). The sampling itself is the backend's.
#pragma once

#include <cstdint>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/types/span.h"
#include "engine/batch.h"
#include "engine/sampling_params.h"

namespace switchyard::engine {

class SamplingState {
 public:
  // `params` must have passed Validate(). Without a seed the stream is seeded
  // from std::random_device.
  SamplingState(const SamplingParams& params, absl::Span<const int32_t> prompt_ids);
  // Not copyable or movable: Row() points into it.
  SamplingState(const SamplingState&) = delete;
  SamplingState& operator=(const SamplingState&) = delete;

  const SamplingParams& params() const { return params_; }
  // This step's row: valid until the next Accept.
  RowSampling Row() const { return {&params_, rng_state_, seen_}; }
  // Records the token generated from Row(): the stream moves on one draw and
  // the penalties' counts take it.
  void Accept(int32_t token);

 private:
  SamplingParams params_;
  uint64_t rng_state_;
  bool penalized_;  // some penalty is on: seen_ is kept
  std::vector<TokenCount> seen_;
  absl::flat_hash_map<int32_t, size_t> seen_index_;  // token -> its place in seen_
};

}  // namespace switchyard::engine
