// The CUDA runtime calls our code makes, over host memory, for the emulator
// (cuda_emulator.h). One queue holds the work issued to every stream; it runs
// when something waits for it. Stream capture records the work into a graph
// instead, and refuses what a real capture refuses: synchronous copies and
// memsets, allocation, freeing, and synchronisation.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <vector>

#include "tests/engine/cuda/emulator/cuda_emulator.h"

namespace cuda_emulator {
namespace {

constexpr size_t kDeviceMemoryBytes = size_t{8} << 30;  // what cudaMemGetInfo reports
constexpr size_t kMaxSharedBytes = 48 * 1024;          // dynamic shared memory without the opt-in attribute
constexpr uint64_t kMaxThreadsPerBlock = 1024;

using Op = std::function<void()>;

struct Runtime {
  std::vector<Op> pending;  // issued and not yet run, in issue order
  cudaError_t last_error = cudaSuccess;
  cudaError_t sticky_error = cudaSuccess;  // a failed kernel, as a device fault is
  cudaStream_t capturing = nullptr;        // the stream being captured, if any
  std::vector<Op> captured;
  bool capture_invalidated = false;
  std::map<void*, size_t> allocations;  // device memory, for cudaMemGetInfo
  size_t allocated_bytes = 0;
};

Runtime& R() {
  static Runtime runtime;
  return runtime;
}

void Drain() {
  Runtime& r = R();
  std::vector<Op> ops;
  ops.swap(r.pending);
  for (Op& op : ops) {
    if (r.sticky_error != cudaSuccess) return;  // a faulted device runs nothing more
    op();
  }
}

// Work for `stream`: recorded while it is captured, queued otherwise.
cudaError_t Issue(cudaStream_t stream, Op op) {
  Runtime& r = R();
  if (r.sticky_error != cudaSuccess) return r.sticky_error;
  if (r.capturing != nullptr) {
    if (stream == r.capturing) {
      r.captured.push_back(std::move(op));
      return cudaSuccess;
    }
    if (stream == nullptr) {  // the legacy stream would synchronise with the one being captured
      r.capture_invalidated = true;
      return cudaErrorStreamCaptureImplicit;
    }
  }
  r.pending.push_back(std::move(op));
  return cudaSuccess;
}

// Allocations are 256-byte aligned, as cudaMalloc's are; aligned_alloc wants
// a size that is a multiple of the alignment.
size_t RoundedSize(size_t size) { return (std::max<size_t>(size, 1) + 255) / 256 * 256; }

// A call that a capture in progress does not allow: it invalidates the capture.
bool RefusedByCapture(cudaError_t* error) {
  Runtime& r = R();
  if (r.capturing == nullptr) return false;
  r.capture_invalidated = true;
  *error = cudaErrorStreamCaptureUnsupported;
  return true;
}

}  // namespace

void EnqueueKernel(const LaunchConfig& config, const char* name, std::function<void()> body) {
  Runtime& r = R();
  const uint64_t threads = uint64_t{config.block.x} * config.block.y * config.block.z;
  const bool bad_config = threads == 0 || threads > kMaxThreadsPerBlock || config.block.z > 64 || config.grid.x == 0 ||
                          config.grid.y == 0 || config.grid.z == 0 || config.grid.y > 65535 ||
                          config.grid.z > 65535 || config.grid.x > 0x7fffffffu ||
                          config.shared_bytes > kMaxSharedBytes;
  if (bad_config) {
    std::fprintf(stderr, "cuda_emulator: %s: invalid launch configuration\n", name);
    if (r.sticky_error == cudaSuccess) r.last_error = cudaErrorInvalidConfiguration;
    return;
  }
  const cudaError_t issued = Issue(config.stream, [config, name, body = std::move(body)] {
    const std::string violation = ExecuteKernel(config, body);
    if (violation.empty()) return;
    std::fprintf(stderr, "cuda_emulator: %s: %s\n", name, violation.c_str());
    R().last_error = R().sticky_error = cudaErrorLaunchFailure;
  });
  if (issued != cudaSuccess) r.last_error = issued;
}

}  // namespace cuda_emulator

// The graph and stream handles are opaque types of the runtime's headers.
struct CUstream_st {};
struct CUgraph_st {
  std::vector<cuda_emulator::Op> ops;
};
struct CUgraphExec_st {
  std::shared_ptr<const std::vector<cuda_emulator::Op>> ops;
};

using cuda_emulator::Drain;
using cuda_emulator::Issue;
using cuda_emulator::R;
using cuda_emulator::RefusedByCapture;

extern "C" {

cudaError_t cudaGetDeviceCount(int* count) {
  *count = 1;
  return cudaSuccess;
}
cudaError_t cudaSetDevice(int device) { return device == 0 ? cudaSuccess : cudaErrorInvalidDevice; }

cudaError_t cudaGetDeviceProperties(cudaDeviceProp* prop, int device) {
  if (device != 0) return cudaErrorInvalidDevice;
  std::memset(prop, 0, sizeof(*prop));
  std::snprintf(prop->name, sizeof(prop->name), "CUDA emulator (CPU)");
  prop->major = 9;  // what the kernels are written for
  prop->minor = 0;
  prop->totalGlobalMem = cuda_emulator::kDeviceMemoryBytes;
  prop->sharedMemPerBlock = cuda_emulator::kMaxSharedBytes;
  prop->warpSize = 32;
  prop->maxThreadsPerBlock = static_cast<int>(cuda_emulator::kMaxThreadsPerBlock);
  prop->multiProcessorCount = 1;
  return cudaSuccess;
}

cudaError_t cudaMemGetInfo(size_t* free_bytes, size_t* total_bytes) {
  *total_bytes = cuda_emulator::kDeviceMemoryBytes;
  *free_bytes = *total_bytes - std::min(*total_bytes, R().allocated_bytes);
  return cudaSuccess;
}

cudaError_t cudaMalloc(void** p, size_t size) {
  if (cudaError_t e; RefusedByCapture(&e)) return e;
  const size_t rounded = cuda_emulator::RoundedSize(size);
  *p = std::aligned_alloc(256, rounded);
  if (*p == nullptr) return cudaErrorMemoryAllocation;
  R().allocations[*p] = rounded;
  R().allocated_bytes += rounded;
  return cudaSuccess;
}
// Freeing waits for the device, as cudaFree does.
cudaError_t cudaFree(void* p) {
  if (cudaError_t e; RefusedByCapture(&e)) return e;
  Drain();
  if (auto it = R().allocations.find(p); it != R().allocations.end()) {
    R().allocated_bytes -= it->second;
    R().allocations.erase(it);
  }
  std::free(p);
  return cudaSuccess;
}
cudaError_t cudaMallocHost(void** p, size_t size) {
  if (cudaError_t e; RefusedByCapture(&e)) return e;
  *p = std::aligned_alloc(256, cuda_emulator::RoundedSize(size));
  return *p != nullptr ? cudaSuccess : cudaErrorMemoryAllocation;
}
cudaError_t cudaFreeHost(void* p) {
  if (cudaError_t e; RefusedByCapture(&e)) return e;
  Drain();
  std::free(p);
  return cudaSuccess;
}

cudaError_t cudaMemcpy(void* dst, const void* src, size_t count, enum cudaMemcpyKind) {
  if (cudaError_t e; RefusedByCapture(&e)) return e;
  Drain();
  if (R().sticky_error != cudaSuccess) return R().sticky_error;
  if (count > 0) std::memcpy(dst, src, count);
  return cudaSuccess;
}
cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t count, enum cudaMemcpyKind, cudaStream_t stream) {
  return Issue(stream, [=] {
    if (count > 0) std::memcpy(dst, src, count);
  });
}
cudaError_t cudaMemset(void* p, int value, size_t count) {
  if (cudaError_t e; RefusedByCapture(&e)) return e;
  Drain();
  if (R().sticky_error != cudaSuccess) return R().sticky_error;
  std::memset(p, value, count);
  return cudaSuccess;
}
cudaError_t cudaMemsetAsync(void* p, int value, size_t count, cudaStream_t stream) {
  return Issue(stream, [=] { std::memset(p, value, count); });
}

cudaError_t cudaStreamCreateWithFlags(cudaStream_t* stream, unsigned int) {
  *stream = new CUstream_st;
  return cudaSuccess;
}
cudaError_t cudaStreamDestroy(cudaStream_t stream) {
  delete stream;
  return cudaSuccess;
}
cudaError_t cudaStreamSynchronize(cudaStream_t) {
  if (cudaError_t e; RefusedByCapture(&e)) return e;
  Drain();
  return R().sticky_error;
}
cudaError_t cudaDeviceSynchronize() {
  if (cudaError_t e; RefusedByCapture(&e)) return e;
  Drain();
  return R().sticky_error;
}
// As on the device, the one way to clear a kernel's fault; work still
// queued is dropped.
cudaError_t cudaDeviceReset() {
  R().pending.clear();
  R().sticky_error = R().last_error = cudaSuccess;
  return cudaSuccess;
}

cudaError_t cudaStreamBeginCapture(cudaStream_t stream, enum cudaStreamCaptureMode) {
  if (stream == nullptr) return cudaErrorStreamCaptureUnsupported;  // the legacy stream cannot be captured
  if (R().capturing != nullptr) return cudaErrorIllegalState;
  R().capturing = stream;
  R().captured.clear();
  R().capture_invalidated = false;
  return cudaSuccess;
}
cudaError_t cudaStreamEndCapture(cudaStream_t stream, cudaGraph_t* graph) {
  if (R().capturing != stream) return cudaErrorIllegalState;
  R().capturing = nullptr;
  *graph = nullptr;
  if (R().capture_invalidated) return cudaErrorStreamCaptureInvalidated;
  *graph = new CUgraph_st{std::move(R().captured)};
  return cudaSuccess;
}
cudaError_t cudaGraphInstantiate(cudaGraphExec_t* exec, cudaGraph_t graph, unsigned long long) {
  *exec = new CUgraphExec_st{std::make_shared<const std::vector<cuda_emulator::Op>>(graph->ops)};
  return cudaSuccess;
}
cudaError_t cudaGraphLaunch(cudaGraphExec_t exec, cudaStream_t stream) {
  return Issue(stream, [ops = exec->ops] {
    for (const cuda_emulator::Op& op : *ops) op();
  });
}
cudaError_t cudaGraphDestroy(cudaGraph_t graph) {
  delete graph;
  return cudaSuccess;
}
cudaError_t cudaGraphExecDestroy(cudaGraphExec_t exec) {
  delete exec;
  return cudaSuccess;
}

cudaError_t cudaGetLastError() {
  const cudaError_t e = R().last_error;
  R().last_error = R().sticky_error;
  return e;
}
cudaError_t cudaPeekAtLastError() { return R().last_error; }

const char* cudaGetErrorName(cudaError_t error) {
  switch (error) {
    case cudaSuccess: return "cudaSuccess";
    case cudaErrorInvalidConfiguration: return "cudaErrorInvalidConfiguration";
    case cudaErrorLaunchFailure: return "cudaErrorLaunchFailure";
    case cudaErrorMemoryAllocation: return "cudaErrorMemoryAllocation";
    case cudaErrorInvalidDevice: return "cudaErrorInvalidDevice";
    case cudaErrorIllegalState: return "cudaErrorIllegalState";
    case cudaErrorStreamCaptureUnsupported: return "cudaErrorStreamCaptureUnsupported";
    case cudaErrorStreamCaptureInvalidated: return "cudaErrorStreamCaptureInvalidated";
    case cudaErrorStreamCaptureImplicit: return "cudaErrorStreamCaptureImplicit";
    default: return "cudaError";
  }
}
const char* cudaGetErrorString(cudaError_t error) {
  switch (error) {
    case cudaSuccess: return "no error";
    case cudaErrorLaunchFailure: return "unspecified launch failure (emulator: see the message above)";
    default: return cudaGetErrorName(error);
  }
}

}  // extern "C"
