// CUDA runtime errors as absl::Status, so that every launch and API call is
// checked and reported across module boundaries like any other failure.
#pragma once

#include <cuda_runtime_api.h>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace switchyard::engine::cuda {

// OK for cudaSuccess; otherwise INTERNAL naming `what` and the CUDA error
// (RESOURCE_EXHAUSTED for an out-of-memory error). The errors that leave the
// CUDA context unusable (sticky errors: an illegal address, a failed or
// timed-out launch, an uncorrectable ECC error, a lost device) are marked
// unrecoverable (engine/backend.h), so that the server stops serving instead
// of failing every later step one by one.
absl::Status CudaStatus(cudaError_t error, absl::string_view what);

// Whether `error` leaves the CUDA context unusable for the rest of the process.
bool IsStickyCudaError(cudaError_t error);

// The status of the last kernel launch on this thread (cudaGetLastError):
// a bad configuration or a launch failure, named after `kernel`.
absl::Status CheckLaunch(absl::string_view kernel);

}  // namespace switchyard::engine::cuda
