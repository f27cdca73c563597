#include "engine/cuda/memory_plan.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"

namespace switchyard::engine::cuda {

absl::StatusOr<DeviceMemoryPlan> PlanDeviceMemory(const DeviceMemoryNeeds& needs, const KvCacheConfig& kv,
                                                  int64_t free_bytes) {
  const int64_t fixed = needs.weight_bytes + needs.workspace_bytes + needs.reserve_bytes;
  const int64_t minimum = fixed + needs.kv_block_bytes;
  if (minimum > free_bytes) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "the model does not fit on the device: it needs ", minimum, " bytes (weights ", needs.weight_bytes,
        ", workspace ", needs.workspace_bytes, ", reserve ", needs.reserve_bytes, ", one KV block ",
        needs.kv_block_bytes, ") and ", free_bytes, " bytes are available"));
  }
  const int64_t left = free_bytes - fixed;
  int64_t blocks = 0;
  if (kv.num_blocks > 0) {
    blocks = kv.num_blocks;
    if (blocks * needs.kv_block_bytes > left) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "a KV cache of ", blocks, " blocks needs ", blocks * needs.kv_block_bytes, " bytes and ", left,
          " bytes are available after the weights (", needs.weight_bytes, "), workspace (", needs.workspace_bytes,
          ") and reserve (", needs.reserve_bytes, ")"));
    }
  } else if (kv.device_memory_fraction > 0) {
    blocks = static_cast<int64_t>(std::floor(static_cast<double>(left) * kv.device_memory_fraction)) /
             needs.kv_block_bytes;
  } else {
    blocks = std::min(kv.memory_bytes, left) / needs.kv_block_bytes;
  }
  if (blocks < 1) {
    return absl::ResourceExhaustedError(absl::StrCat("the KV cache budget holds no block of ", needs.kv_block_bytes,
                                                     " bytes (", left, " bytes left after weights and workspace)"));
  }
  blocks = std::min<int64_t>(blocks, INT32_MAX);
  return DeviceMemoryPlan{static_cast<int32_t>(blocks), blocks * needs.kv_block_bytes};
}

}  // namespace switchyard::engine::cuda
