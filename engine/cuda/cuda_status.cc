#include "engine/cuda/cuda_status.h"

#include "absl/strings/str_cat.h"

namespace switchyard::engine::cuda {

absl::Status CudaStatus(cudaError_t error, absl::string_view what) {
  if (error == cudaSuccess) return absl::OkStatus();
  const std::string message = absl::StrCat(what, ": ", cudaGetErrorName(error), " (", cudaGetErrorString(error), ")");
  if (error == cudaErrorMemoryAllocation) return absl::ResourceExhaustedError(message);
  return absl::InternalError(message);
}

absl::Status CheckLaunch(absl::string_view kernel) { return CudaStatus(cudaGetLastError(), kernel); }

}  // namespace switchyard::engine::cuda
