// A backend plugin for the loader's tests (backend_plugin_loader_test.cc),
// built as shared libraries that differ only in what their entry point
// reports: an ABI version FAKE_PLUGIN_VERSIONS_BEHIND older than this
// build's, and FAKE_PLUGIN_LAYOUT as the layout (0: this build's).
// Its backend is never created with a version that does not match.
#include <cstdio>

#include "engine/backend_plugin.h"

namespace {

// Says what it was asked for, so that the test sees the capacity arrive.
switchyard::engine::Backend* Create(const switchyard::engine::StepCapacity* capacity, char* error, size_t error_size) {
  std::snprintf(error, error_size, "the fake plugin makes no backend of %d tokens and %d sequences per step",
                capacity->max_tokens, capacity->max_sequences);
  return nullptr;
}

constexpr SwitchyardBackendPlugin kPlugin = {
    switchyard::engine::kBackendPluginAbiVersion - FAKE_PLUGIN_VERSIONS_BEHIND,
    FAKE_PLUGIN_LAYOUT == 0 ? switchyard::engine::BackendInterfaceLayout() : uint64_t{FAKE_PLUGIN_LAYOUT},
    "fake",
    Create,
};

}  // namespace

extern "C" __attribute__((visibility("default"))) const SwitchyardBackendPlugin* switchyard_backend_plugin() {
  return &kPlugin;
}
