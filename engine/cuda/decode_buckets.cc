#include "engine/cuda/decode_buckets.h"

#include <algorithm>

namespace switchyard::engine::cuda {

bool IsDecodeOnly(const Batch& batch) {
  return !batch.sequences.empty() &&
         std::all_of(batch.sequences.begin(), batch.sequences.end(),
                     [](const SequenceSlice& s) { return s.num_tokens == 1; });
}

std::optional<int32_t> DecodeBucket(absl::Span<const int32_t> sizes, int32_t n) {
  const auto it = std::lower_bound(sizes.begin(), sizes.end(), n);
  if (it == sizes.end()) return std::nullopt;
  return *it;
}

}  // namespace switchyard::engine::cuda
