// The plugin's entry point (engine/backend_plugin.h), the one symbol
// libswitchyard_cuda.so exports: a CUDA backend sized for the capacity asked
// for, or nullptr and the reason (no device, wrong architecture, a capacity
// the configuration refuses).
#include <cstdio>

#include "engine/backend_plugin.h"
#include "engine/cuda/cuda_backend.h"

namespace {

switchyard::engine::Backend* CreateCudaBackend(const switchyard::engine::StepCapacity* capacity, char* error,
                                               size_t error_size) {
  using switchyard::engine::cuda::CudaBackend;
  using switchyard::engine::cuda::CudaBackendConfig;
  absl::StatusOr<std::unique_ptr<CudaBackend>> backend = CudaBackend::Create(CudaBackendConfig::ForStepCapacity(*capacity));
  if (!backend.ok()) {
    std::snprintf(error, error_size, "%.*s", static_cast<int>(backend.status().message().size()),
                  backend.status().message().data());
    return nullptr;
  }
  return backend->release();
}

constexpr SwitchyardBackendPlugin kPlugin = {
    switchyard::engine::kBackendPluginAbiVersion,
    switchyard::engine::BackendInterfaceLayout(),
    "cuda",
    CreateCudaBackend,
};

}  // namespace

extern "C" __attribute__((visibility("default"))) const SwitchyardBackendPlugin* switchyard_backend_plugin() {
  return &kPlugin;
}
