// The ExpertLoad message (GetExpertLoad, WatchExpertLoad) from an engine
// snapshot, and the imbalance measure it and the metrics share.
#pragma once

#include <algorithm>
#include <cstdint>

#include "absl/types/span.h"
#include "server/service/engine_service.h"
#include "switchyard/v1/switchyard.pb.h"

namespace switchyard::server {

// Max over mean of `counts`: 1 when balanced, counts.size() when one expert
// has every token; 0 when all are zero.
template <typename Count>
double Imbalance(absl::Span<const Count> counts) {
  int64_t sum = 0, max = 0;
  for (Count c : counts) {
    sum += c;
    max = std::max<int64_t>(max, c);
  }
  return sum == 0 ? 0.0 : static_cast<double>(max) * static_cast<double>(counts.size()) / static_cast<double>(sum);
}

// Per layer: the since-start, recent-window and last-step counts and their
// imbalances. `top_k` is the model's experts per token.
void FillExpertLoad(const EngineSnapshot& snapshot, int32_t top_k, v1::ExpertLoad& load);

}  // namespace switchyard::server
