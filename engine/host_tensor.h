// HostTensor: an owned, 64-byte aligned, row-major block of host memory with
// a dtype and a shape. Weights and activations on the CPU live in these.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "engine/dtype.h"

namespace switchyard::engine {

class HostTensor {
 public:
  HostTensor() = default;
  HostTensor(DType dtype, std::vector<int64_t> shape);

  DType dtype() const { return dtype_; }
  const std::vector<int64_t>& shape() const { return shape_; }
  int64_t dim(int i) const { return shape_[i]; }
  int64_t numel() const { return numel_; }
  size_t nbytes() const { return numel_ * DTypeSize(dtype_); }
  bool empty() const { return numel_ == 0; }

  void* data() { return data_.get(); }
  const void* data() const { return data_.get(); }
  float* f32() { return static_cast<float*>(data()); }
  const float* f32() const { return static_cast<const float*>(data()); }

 private:
  struct Free {
    void operator()(void* p) const;
  };
  DType dtype_ = DType::kF32;
  std::vector<int64_t> shape_;
  int64_t numel_ = 0;
  std::unique_ptr<void, Free> data_;
};

}  // namespace switchyard::engine
