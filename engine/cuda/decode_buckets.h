// Which decode steps replay a captured CUDA graph, and at which size.
//
// A graph fixes every launch's grid and every pointer, so it is captured
// once per bucket size; a step of n sequences replays the smallest bucket
// that holds n, padded with tokens that attend nothing, write no KV and are
// left out of routing.
#pragma once

#include <cstdint>
#include <optional>

#include "absl/types/span.h"
#include "engine/batch.h"

namespace switchyard::engine::cuda {

// True when every sequence of the batch runs exactly one token.
bool IsDecodeOnly(const Batch& batch);

// The smallest size in `sizes` (strictly increasing) that is >= n, or none.
std::optional<int32_t> DecodeBucket(absl::Span<const int32_t> sizes, int32_t n);

}  // namespace switchyard::engine::cuda
