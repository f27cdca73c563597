// CUDA runtime errors as absl::Status, so that every launch and API call is
// checked and reported across module boundaries like any other failure.
#pragma once

#include <cuda_runtime_api.h>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace switchyard::engine::cuda {

// OK for cudaSuccess; otherwise INTERNAL naming `what` and the CUDA error
// (RESOURCE_EXHAUSTED for an out-of-memory error).
absl::Status CudaStatus(cudaError_t error, absl::string_view what);

// The status of the last kernel launch on this thread (cudaGetLastError):
// a bad configuration or a launch failure, named after `kernel`.
absl::Status CheckLaunch(absl::string_view kernel);

}  // namespace switchyard::engine::cuda
