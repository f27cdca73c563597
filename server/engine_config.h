// EngineConfig: what one engine is made of (the model, the backend, its KV
// cache, the scheduler's limits), built once from the command line's flags
// and shared by `generate`, batch generation and `serve`; and LoadBackend,
// the one way each of them turns it into a loaded backend.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "engine/backend.h"
#include "engine/backend_registry.h"
#include "engine/model_loader.h"
#include "scheduler/scheduler_config.h"

namespace switchyard::server {

struct EngineConfig {
  engine::ModelSource model;
  std::string backend = "auto";  // a registered name or "auto" (engine/backend_registry.h)
  engine::KvCacheConfig kv_cache;
  scheduler::SchedulerConfig scheduler;

  // The one validation of these settings (the backend and the scheduler
  // check again only what they are handed at their own boundaries).
  absl::Status Validate() const;
  // What the scheduler's budget asks of the backend in one step.
  engine::StepCapacity step_capacity() const {
    return {scheduler.max_num_batched_tokens, scheduler.max_num_seqs};
  }
};

// --kv-cache-dtype: "auto" (unset: the backend's own), "f32" or "bf16";
// INVALID_ARGUMENT naming the value otherwise.
absl::StatusOr<std::optional<engine::DType>> ParseKvCacheDType(std::string_view name);

// Makes the backend of a name, sized for a step capacity: engine::CreateBackend,
// or a test's wrapper around it.
using BackendFactory =
    std::function<absl::StatusOr<std::unique_ptr<engine::Backend>>(std::string_view, const engine::StepCapacity&)>;

// Loads the model, creates `config.backend` for the scheduler's budget, and
// hands it the weights and the KV cache. The errors
// are the loader's (naming the file or tensor), the backend's (no device, a
// KV cache that holds no block) and Validate()'s.
absl::StatusOr<std::unique_ptr<engine::Backend>> LoadBackend(const EngineConfig& config,
                                                             const BackendFactory& create = engine::CreateBackend);

}  // namespace switchyard::server
