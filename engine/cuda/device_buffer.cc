#include "engine/cuda/device_buffer.h"

#include <cuda_runtime_api.h>

#include "absl/strings/str_cat.h"
#include "engine/cuda/cuda_status.h"
#include "common/status_macros.h"

namespace switchyard::engine::cuda {

template <MemoryKind kKind>
void CudaBuffer<kKind>::Free::operator()(void* p) const {
  if constexpr (kKind == MemoryKind::kDevice) {
    cudaFree(p);
  } else {
    cudaFreeHost(p);
  }
}

template <MemoryKind kKind>
absl::StatusOr<CudaBuffer<kKind>> CudaBuffer<kKind>::Allocate(int64_t bytes) {
  CudaBuffer b;
  void* p = nullptr;
  const size_t n = static_cast<size_t>(bytes);
  if constexpr (kKind == MemoryKind::kDevice) {
    RETURN_IF_ERROR(CudaStatus(cudaMalloc(&p, n), absl::StrCat("cudaMalloc of ", bytes, " bytes")));
  } else {
    RETURN_IF_ERROR(CudaStatus(cudaMallocHost(&p, n), absl::StrCat("cudaMallocHost of ", bytes, " bytes")));
  }
  b.data_.reset(p);
  b.bytes_ = bytes;
  return b;
}

template class CudaBuffer<MemoryKind::kDevice>;
template class CudaBuffer<MemoryKind::kPinnedHost>;

}  // namespace switchyard::engine::cuda
