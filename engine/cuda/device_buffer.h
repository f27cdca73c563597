// Owned device memory and page-locked host memory (the staging side of
// asynchronous copies), released by the destructor. One class for both:
// they differ only in the allocator and its matching free.
#pragma once

#include <cstdint>
#include <memory>

#include "absl/status/statusor.h"

namespace switchyard::engine::cuda {

enum class MemoryKind { kDevice, kPinnedHost };

template <MemoryKind kKind>
class CudaBuffer {
 public:
  CudaBuffer() = default;
  static absl::StatusOr<CudaBuffer> Allocate(int64_t bytes);

  int64_t bytes() const { return bytes_; }
  void* data() const { return data_.get(); }
  // The buffer at byte `offset`, typed.
  template <typename T>
  T* at(int64_t offset) const {
    return reinterpret_cast<T*>(static_cast<char*>(data_.get()) + offset);
  }

 private:
  struct Free {
    void operator()(void* p) const;
  };
  std::unique_ptr<void, Free> data_;
  int64_t bytes_ = 0;
};

using DeviceBuffer = CudaBuffer<MemoryKind::kDevice>;
using PinnedBuffer = CudaBuffer<MemoryKind::kPinnedHost>;

extern template class CudaBuffer<MemoryKind::kDevice>;
extern template class CudaBuffer<MemoryKind::kPinnedHost>;

}  // namespace switchyard::engine::cuda
