// Helpers for the GPU tests: skip without a device, and move vectors to and
// from device memory.
#pragma once

#include <cuda_bf16.h>
#include <cuda_runtime_api.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "engine/cuda/device_buffer.h"
#include "engine/dtype.h"

namespace switchyard::engine::cuda {

inline bool HasCudaDevice() {
  int count = 0;
  const bool ok = cudaGetDeviceCount(&count) == cudaSuccess && count > 0;
  cudaGetLastError();  // clear the error of a failed query
  return ok;
}

#define SKIP_WITHOUT_GPU() \
  if (!::switchyard::engine::cuda::HasCudaDevice()) GTEST_SKIP() << "no CUDA device"

template <typename T>
DeviceBuffer ToDevice(const std::vector<T>& v) {
  auto buffer = DeviceBuffer::Allocate(std::max<int64_t>(1, v.size() * sizeof(T)));
  EXPECT_TRUE(buffer.ok()) << buffer.status();
  if (!v.empty()) {
    EXPECT_EQ(cudaMemcpy(buffer->data(), v.data(), v.size() * sizeof(T), cudaMemcpyHostToDevice), cudaSuccess);
  }
  return std::move(*buffer);
}

template <typename T>
std::vector<T> FromDevice(const DeviceBuffer& b, size_t count) {
  std::vector<T> v(count);
  EXPECT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  if (count > 0) {
    EXPECT_EQ(cudaMemcpy(v.data(), b.data(), count * sizeof(T), cudaMemcpyDeviceToHost), cudaSuccess);
  }
  return v;
}

// Uniform in [-scale, scale].
inline std::vector<float> Random(size_t n, std::mt19937& rng, float scale = 1.0f) {
  std::uniform_real_distribution<float> d(-scale, scale);
  std::vector<float> v(n);
  for (float& x : v) x = d(rng);
  return v;
}

// A device buffer's start, typed, for a kernel's parameters.
template <typename T>
const T* Ptr(const DeviceBuffer& b) {
  return b.at<const T>(0);
}
template <typename T>
T* MutPtr(const DeviceBuffer& b) {
  return b.at<T>(0);
}

// bf16 bits of each float, and each float rounded through bf16: the CPU
// reference of a bf16 kernel runs on the rounded values.
inline std::vector<uint16_t> ToBf16(const std::vector<float>& v) {
  std::vector<uint16_t> out(v.size());
  for (size_t i = 0; i < v.size(); ++i) out[i] = FloatToBF16(v[i]);
  return out;
}
inline std::vector<float> RoundBf16(const std::vector<float>& v) {
  std::vector<float> out(v.size());
  for (size_t i = 0; i < v.size(); ++i) out[i] = BF16ToFloat(FloatToBF16(v[i]));
  return out;
}

// max |a - b| / max(|b|, floor) over the elements.
inline double MaxRelativeError(const std::vector<float>& a, const std::vector<float>& b, double floor = 1e-3) {
  double worst = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    worst = std::max(worst, std::abs(double(a[i]) - b[i]) / std::max(std::abs(double(b[i])), floor));
  }
  return worst;
}

}  // namespace switchyard::engine::cuda
