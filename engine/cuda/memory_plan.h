// How the device memory is shared at start-up: every weight (every expert
// included) and the step workspace first, then the paged KV cache takes what
// the KvCacheConfig asks for out of what is left.
#pragma once

#include <cstdint>

#include "absl/status/statusor.h"
#include "engine/backend.h"

namespace switchyard::engine::cuda {

struct DeviceMemoryNeeds {
  int64_t weight_bytes = 0;
  int64_t workspace_bytes = 0;
  int64_t kv_block_bytes = 0;  // one block, K and V, every layer
  int64_t reserve_bytes = 0;   // left to the CUDA context (graphs, cuBLAS)
};

struct DeviceMemoryPlan {
  int32_t num_kv_blocks = 0;
  int64_t kv_cache_bytes = 0;
};

// `free_bytes` is what cudaMemGetInfo reports before anything is allocated.
// The KV cache gets kv.num_blocks blocks when set; otherwise
// kv.device_memory_fraction of the memory left when that is > 0; otherwise
// kv.memory_bytes, capped at what is left. RESOURCE_EXHAUSTED, naming the
// bytes needed and available, when the model with one KV block does not fit
// or the requested blocks do not.
absl::StatusOr<DeviceMemoryPlan> PlanDeviceMemory(const DeviceMemoryNeeds& needs, const KvCacheConfig& kv,
                                                  int64_t free_bytes);

}  // namespace switchyard::engine::cuda
