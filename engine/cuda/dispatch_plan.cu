#include "engine/cuda/dispatch_plan.h"

#include "absl/strings/str_cat.h"
#include "engine/cuda/cuda_status.h"

namespace switchyard::engine::cuda {
namespace {

constexpr int kChunk = 1024;  // assignments staged in shared memory at a time

// A single block; thread e owns expert e. Both passes walk the assignments
// in order, chunk by chunk from shared memory (every thread reads the same
// element: a broadcast), so thread e meets its assignments in token order and
// the scatter is stable without any atomics. O(T·k) per thread, which for a
// step's few thousand assignments is a few microseconds.
__global__ void DispatchPlanKernel(DispatchPlanParams p) {
  __shared__ int32_t ids[kChunk];
  __shared__ int32_t offsets[kMaxDispatchExperts + 1];
  const int e = threadIdx.x;
  const bool owner = e < p.num_experts;
  const int32_t n = *p.num_real_tokens * p.top_k;

  int32_t count = 0;
  for (int32_t base = 0; base < n; base += kChunk) {
    const int len = min(kChunk, n - base);
    for (int i = threadIdx.x; i < len; i += blockDim.x) ids[i] = p.expert_ids[base + i];
    __syncthreads();
    if (owner) {
      for (int i = 0; i < len; ++i) count += ids[i] == e;
    }
    __syncthreads();
  }
  if (owner) offsets[e + 1] = count;
  __syncthreads();
  if (threadIdx.x == 0) {
    offsets[0] = 0;
    for (int i = 0; i < p.num_experts; ++i) offsets[i + 1] += offsets[i];
  }
  __syncthreads();
  if (owner) {
    p.expert_counts[e] = count;
    p.expert_offsets[e] = offsets[e];
  }
  if (threadIdx.x == 0) p.expert_offsets[p.num_experts] = offsets[p.num_experts];

  int32_t cursor = owner ? offsets[e] : 0;
  for (int32_t base = 0; base < n; base += kChunk) {
    const int len = min(kChunk, n - base);
    for (int i = threadIdx.x; i < len; i += blockDim.x) ids[i] = p.expert_ids[base + i];
    __syncthreads();
    if (owner) {
      for (int i = 0; i < len; ++i) {
        if (ids[i] != e) continue;
        const int32_t a = base + i;
        p.row_token[cursor] = a / p.top_k;
        p.assignment_row[a] = cursor;
        ++cursor;
      }
    }
    __syncthreads();
  }
  const int32_t total = p.num_tokens * p.top_k;
  for (int32_t a = n + threadIdx.x; a < total; a += blockDim.x) p.assignment_row[a] = -1;
}

}  // namespace

absl::Status BuildDispatchPlanOnDevice(const DispatchPlanParams& p, cudaStream_t stream) {
  if (p.num_experts < 1 || p.num_experts > kMaxDispatchExperts) {
    return absl::InvalidArgumentError(
        absl::StrCat("the device dispatch plan takes 1 to ", kMaxDispatchExperts, " experts, got ", p.num_experts));
  }
  const int threads = (p.num_experts + 31) / 32 * 32;
  DispatchPlanKernel<<<1, threads, 0, stream>>>(p);
  return CheckLaunch("DispatchPlanKernel");
}

}  // namespace switchyard::engine::cuda
