#include "engine/backend_registry.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "engine/backend_plugin_loader.h"
#include "engine/cpu/cpu_backend.h"
#include "spdlog/spdlog.h"

namespace switchyard::engine {
namespace {

struct RegisteredBackend {
  const char* name;
  absl::StatusOr<std::unique_ptr<Backend>> (*create)(const StepCapacity& capacity);
};

// The registry, in `auto`'s order of preference: one line per backend. A
// backend in process names its constructor; a plugin names its library
// (engine/backend_plugin.h).
constexpr RegisteredBackend kBackends[] = {
    {"cuda", [](const StepCapacity& capacity) { return LoadBackendPlugin("cuda", "libswitchyard_cuda.so", capacity); }},
    // Sizes nothing in advance: any step the KV cache holds.
    {"cpu",
     [](const StepCapacity&) -> absl::StatusOr<std::unique_ptr<Backend>> { return std::make_unique<CpuBackend>(); }},
};

}  // namespace

absl::StatusOr<std::unique_ptr<Backend>> CreateBackend(std::string_view name, const StepCapacity& capacity) {
  for (const RegisteredBackend& b : kBackends) {
    if (name == b.name) return b.create(capacity);
  }
  if (name != "auto") {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown backend '", std::string(name), "'; supported: ", BackendNames()));
  }
  absl::Status last;
  for (const RegisteredBackend& b : kBackends) {
    absl::StatusOr<std::unique_ptr<Backend>> backend = b.create(capacity);
    if (backend.ok()) return backend;
    spdlog::info("backend auto: not {} ({})", b.name, backend.status().ToString());
    last = backend.status();
  }
  return last;
}

std::string BackendNames() {
  std::vector<std::string> names;
  for (const RegisteredBackend& b : kBackends) names.push_back(b.name);
  names.push_back("auto");
  return absl::StrJoin(names, ", ");
}

}  // namespace switchyard::engine
