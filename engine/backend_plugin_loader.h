// Loads a backend plugin (engine/backend_plugin.h) and creates its backend.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "engine/backend.h"

namespace switchyard::engine {

// `capacity` is what the backend is asked to run in one step (its
// create()). `name` is the backend's (for messages, which all start "NAME backend
// unavailable: "). `library` is a file name (libswitchyard_cuda.so: looked for beside the
// running binary first, then on the loader's search path, i.e. the binary's
// RUNPATH, LD_LIBRARY_PATH, ldconfig) or a path. FAILED_PRECONDITION, with
// the reason, when it cannot be loaded, exports no entry point, was built
// for another ABI version or interface layout (both versions named), or
// cannot create its backend here (no device).
absl::StatusOr<std::unique_ptr<Backend>> LoadBackendPlugin(std::string_view name, const std::string& library,
                                                           const StepCapacity& capacity);

}  // namespace switchyard::engine
