// Owned device memory and page-locked host memory (the staging side of
// asynchronous copies), released by the destructor.
#pragma once

#include <cstdint>
#include <memory>

#include "absl/status/statusor.h"

namespace switchyard::engine::cuda {

class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  static absl::StatusOr<DeviceBuffer> Allocate(int64_t bytes);

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

class PinnedBuffer {
 public:
  PinnedBuffer() = default;
  static absl::StatusOr<PinnedBuffer> Allocate(int64_t bytes);

  int64_t bytes() const { return bytes_; }
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

}  // namespace switchyard::engine::cuda
