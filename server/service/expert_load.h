// The ExpertLoad message (GetExpertLoad, WatchExpertLoad) from an engine
// snapshot, and the imbalance measure it and the metrics share.
#pragma once

#include <cstdint>

#include "absl/types/span.h"
#include "server/service/engine_service.h"
#include "switchyard/v1/switchyard.pb.h"

namespace switchyard::server {

// Max over mean of `counts`: 1 when balanced, counts.size() when one expert
// has every token; 0 when all are zero.
double Imbalance(absl::Span<const int64_t> counts);

// Per layer: the since-start, recent-window and last-step counts and their
// imbalances. `top_k` is the model's experts per token.
void FillExpertLoad(const EngineSnapshot& snapshot, int32_t top_k, v1::ExpertLoad& load);

}  // namespace switchyard::server
