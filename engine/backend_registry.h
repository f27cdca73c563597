// Every backend by name, and `auto`: the one place a backend is registered
// (engine/backend_registry.cc).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "engine/backend.h"

namespace switchyard::engine {

// A registered name, or "auto", asked to run steps of up to `capacity` (the
// scheduler's budget): the first registered backend (in the
// registry's order of preference) that can be created here, with a log line
// for each one passed over and why. INVALID_ARGUMENT for an unknown name,
// listing the known ones; a backend that cannot be created here says why.
absl::StatusOr<std::unique_ptr<Backend>> CreateBackend(std::string_view name, const StepCapacity& capacity);

// The names --backend accepts, "auto" last: "cuda, cpu, auto".
std::string BackendNames();

}  // namespace switchyard::engine
