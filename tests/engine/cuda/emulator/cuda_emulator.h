// A CPU emulator of the CUDA execution model, for testing the logic of our
// kernels where no GPU is (this machine, CI). A kernel's .cu file is compiled
// by the host compiler with this header force-included (-include) and its
// `K<<<grid, block, smem, stream>>>(args)` launches rewritten to
// `cuda_emulator::Launch(...)` (emulate_launches.sed). Every CUDA thread of a
// block runs as a fiber; __syncthreads, warp shuffles and the WMMA calls are
// the points where fibers switch, so the block's threads interleave exactly as
// far as the program's synchronisation allows and no further.
//
// Work issued to a stream runs when something waits for it (a stream or
// device synchronisation, a synchronous copy), not when it is issued, so a
// host that reads an asynchronous copy's destination too early sees stale
// data, as it may on a device. Stream capture records a CUDA graph that a
// graph launch replays with the arguments captured.
//
// What it checks beyond the kernel's results: launch limits (block size,
// grid size, shared memory), every thread of a block reaching the same
// barrier, every lane named in a warp call's mask taking part (a lane that
// exited or does not exist is an error), and that warp-collective WMMA calls
// are made by the whole warp. A violation fails the launch with a message,
// and the error sticks, as a device fault does.
//
// What it cannot check: timing, the memory model (fibers never race), the
// ordering between streams (one queue serves them all), a host reading
// device memory directly (it is host memory here), bank conflicts, the
// hardware's fragment layouts, and performance.
#pragma once

#include <cuda_bf16.h>
#include <cuda_runtime_api.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>

// Host compilers see these as attributes they ignore; for the emulator they
// are plain C++. __shared__ variables are per block: blocks run one at a time
// on one OS thread, so a static per OS thread is exactly one copy per block.
#undef __global__
#undef __device__
#undef __host__
#undef __shared__
#undef __forceinline__
#undef __launch_bounds__
#undef __noinline__
#define __global__
#define __device__
#define __host__
#define __shared__ static thread_local
#define __forceinline__ inline
#define __noinline__
#define __launch_bounds__(...)

namespace cuda_emulator {

struct ThreadIndex {
  uint3 thread_idx;
  uint3 block_idx;
  dim3 block_dim;
  dim3 grid_dim;
};

// The running fiber's coordinates.
const ThreadIndex& Current();

// Block-wide barrier (__syncthreads).
void SyncThreads();

// Warp barrier over the lanes in `mask`; `value` is this lane's contribution
// and the result is lane `src_lane`'s. The calling lane must be in the mask.
uint64_t WarpExchange(unsigned mask, uint64_t value, int src_lane);

// Fails the launch with `what` and abandons the running block.
[[noreturn]] void Violation(const char* what);

// Dynamic shared memory of the running block (extern __shared__).
void* DynamicShared();

struct LaunchConfig {
  dim3 grid;
  dim3 block;
  size_t shared_bytes = 0;
  cudaStream_t stream = nullptr;
};

// Issues a kernel on config.stream (emulated_runtime.cc): a bad
// configuration sets the last error at once; otherwise `body` runs once per
// thread of every block when the stream's work is next waited for, and a
// violation then fails the device with a sticky error.
void EnqueueKernel(const LaunchConfig& config, const char* name, std::function<void()> body);

// Runs `body` as the kernel's threads, now; the violation, or "" if none.
std::string ExecuteKernel(const LaunchConfig& config, const std::function<void()>& body);

// The rewritten `kernel<<<grid, block, smem, stream>>>(args...)`. The
// arguments are copied at the launch, and each thread gets its own copy, as
// a kernel's by-value parameters are.
template <typename... Params, typename... Args>
void Launch(LaunchConfig config, const char* name, void (*kernel)(Params...), Args&&... args) {
  static_assert(sizeof...(Params) == sizeof...(Args), "kernel argument count");
  std::tuple<std::decay_t<Params>...> params(std::forward<Args>(args)...);
  EnqueueKernel(config, name, [kernel, params] {
    std::tuple<std::decay_t<Params>...> copy = params;
    std::apply(kernel, copy);
  });
}

}  // namespace cuda_emulator

#define threadIdx (::cuda_emulator::Current().thread_idx)
#define blockIdx (::cuda_emulator::Current().block_idx)
#define blockDim (::cuda_emulator::Current().block_dim)
#define gridDim (::cuda_emulator::Current().grid_dim)
constexpr int warpSize = 32;

inline void __syncthreads() { cuda_emulator::SyncThreads(); }
inline void __syncwarp(unsigned mask = 0xffffffffu) {
  cuda_emulator::WarpExchange(mask, 0, static_cast<int>(threadIdx.x % 32));
}

template <typename T>
T EmulatedShuffle(unsigned mask, T value, int src_lane) {
  static_assert(sizeof(T) <= sizeof(uint64_t) && std::is_trivially_copyable_v<T>, "shuffled type");
  uint64_t bits = 0;
  std::memcpy(&bits, &value, sizeof(T));
  bits = cuda_emulator::WarpExchange(mask, bits, src_lane);
  std::memcpy(&value, &bits, sizeof(T));
  return value;
}

// The width argument splits the warp into segments, as on the device.
template <typename T>
T __shfl_sync(unsigned mask, T value, int src_lane, int width = 32) {
  const int lane = static_cast<int>(threadIdx.x % 32);
  return EmulatedShuffle(mask, value, (lane & ~(width - 1)) + (src_lane & (width - 1)));
}
template <typename T>
T __shfl_xor_sync(unsigned mask, T value, int lane_mask, int width = 32) {
  const int lane = static_cast<int>(threadIdx.x % 32);
  const int src = lane ^ lane_mask;
  return EmulatedShuffle(mask, value, src / width == lane / width ? src : lane);
}
template <typename T>
T __shfl_down_sync(unsigned mask, T value, unsigned delta, int width = 32) {
  const int lane = static_cast<int>(threadIdx.x % 32);
  const int src = lane + static_cast<int>(delta);
  return EmulatedShuffle(mask, value, src / width == lane / width ? src : lane);
}
template <typename T>
T __shfl_up_sync(unsigned mask, T value, unsigned delta, int width = 32) {
  const int lane = static_cast<int>(threadIdx.x % 32);
  const int src = lane - static_cast<int>(delta);
  return EmulatedShuffle(mask, value, src >= 0 && src / width == lane / width ? src : lane);
}

// The device math library's names that the host's lacks.
inline int min(int a, int b) { return std::min(a, b); }
inline int max(int a, int b) { return std::max(a, b); }
inline int64_t min(int64_t a, int64_t b) { return std::min(a, b); }
inline int64_t max(int64_t a, int64_t b) { return std::max(a, b); }
inline float rsqrtf(float x) { return 1.0f / std::sqrt(x); }
inline float __expf(float x) { return std::exp(x); }
inline float __fdividef(float a, float b) { return a / b; }
using std::isnan;
inline uint32_t __float_as_uint(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
}
template <typename T>
T __ldg(const T* p) {
  return *p;
}
