#include "engine/host_tensor.h"

#include <cstdlib>
#include <cstring>
#include <new>

namespace switchyard::engine {

void HostTensor::Free::operator()(void* p) const { std::free(p); }

HostTensor::HostTensor(DType dtype, std::vector<int64_t> shape) : dtype_(dtype), shape_(std::move(shape)) {
  numel_ = 1;
  for (int64_t d : shape_) numel_ *= d;
  // aligned_alloc needs a size that is a multiple of the alignment.
  const size_t bytes = (nbytes() + 63) / 64 * 64;
  if (bytes == 0) return;
  void* p = std::aligned_alloc(64, bytes);
  if (p == nullptr) throw std::bad_alloc();
  std::memset(p, 0, bytes);
  data_.reset(p);
}

}  // namespace switchyard::engine
