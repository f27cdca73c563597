// The JSON form of sampled tokens' logprobs, shared by the generate commands:
// [{"token": id, "logprob": x, "top": [{"token": id, "logprob": x}, ...]}, ...]
// ("top" only when top-n logprobs were asked for).
#pragma once

#include "absl/types/span.h"
#include "engine/batch.h"
#include "nlohmann/json.hpp"

namespace switchyard::server {

nlohmann::json LogprobsJson(absl::Span<const engine::SampleResult> tokens);

}  // namespace switchyard::server
