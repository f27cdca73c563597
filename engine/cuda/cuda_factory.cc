// The plugin's one exported symbol, which engine/backend.cc looks up after
// dlopen: a CUDA backend with the default capacities, or nullptr and the
// reason (no device, wrong architecture) in `error`.
#include <string>

#include "engine/cuda/cuda_backend.h"

extern "C" __attribute__((visibility("default"))) switchyard::engine::Backend* SwitchyardCreateCudaBackend(
    std::string* error) {
  using switchyard::engine::cuda::CudaBackend;
  absl::StatusOr<std::unique_ptr<CudaBackend>> backend = CudaBackend::Create({});
  if (!backend.ok()) {
    *error = std::string(backend.status().message());
    return nullptr;
  }
  return backend->release();
}
