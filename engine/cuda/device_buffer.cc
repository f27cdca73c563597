#include "engine/cuda/device_buffer.h"

#include <cuda_runtime_api.h>

#include "absl/strings/str_cat.h"
#include "engine/cuda/cuda_status.h"
#include "engine/status_macros.h"

namespace switchyard::engine::cuda {

void DeviceBuffer::Free::operator()(void* p) const { cudaFree(p); }
void PinnedBuffer::Free::operator()(void* p) const { cudaFreeHost(p); }

absl::StatusOr<DeviceBuffer> DeviceBuffer::Allocate(int64_t bytes) {
  DeviceBuffer b;
  void* p = nullptr;
  RETURN_IF_ERROR(CudaStatus(cudaMalloc(&p, static_cast<size_t>(bytes)), absl::StrCat("cudaMalloc of ", bytes, " bytes")));
  b.data_.reset(p);
  b.bytes_ = bytes;
  return b;
}

absl::StatusOr<PinnedBuffer> PinnedBuffer::Allocate(int64_t bytes) {
  PinnedBuffer b;
  void* p = nullptr;
  RETURN_IF_ERROR(
      CudaStatus(cudaMallocHost(&p, static_cast<size_t>(bytes)), absl::StrCat("cudaMallocHost of ", bytes, " bytes")));
  b.data_.reset(p);
  b.bytes_ = bytes;
  return b;
}

}  // namespace switchyard::engine::cuda
