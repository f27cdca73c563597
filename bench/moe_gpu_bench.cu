// The GPU MoE layer benchmark (issue 7): the expert GEMMs of one MoE layer
// (gate/up with SiLU·mul fused, then down) through the project's grouped
// GEMM (engine/cuda/grouped_gemm.h) and through cublasGemmGroupedBatchedEx
// (engine/cuda/cublas_grouped_gemm.h), for the layer shapes, token counts
// and routings of bench/moe_gpu_shapes.h. Rates are put against two
// references measured in the same run: the device-to-device cudaMemcpy
// bandwidth and a dense cuBLAS bf16 GEMM (fp32 accumulate) of the same FLOPs.
//
//   build/bench/moe_gpu_bench [--reps=N] [--model=SUBSTRING] [--max-tokens=N]
//
// Prints a markdown table; exits 0 with a message where no CUDA device is found.
#include <cublas_v2.h>
#include <cuda_bf16.h>
#include <cuda_runtime_api.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "bench/moe_gpu_shapes.h"
#include "engine/cuda/cublas_grouped_gemm.h"
#include "engine/cuda/cuda_status.h"
#include "engine/cuda/device_buffer.h"
#include "engine/cuda/grouped_gemm.h"
#include "common/status_macros.h"

namespace switchyard::bench {
namespace {

using engine::cuda::CublasGroupedGemm;
using engine::cuda::CublasGroupedGemmParams;
using engine::cuda::CublasStatus;
using engine::cuda::CudaStatus;
using engine::cuda::DeviceBuffer;
using engine::cuda::GroupedGemm;
using engine::cuda::GroupedGemmParams;

struct Options {
  int reps = 20;
  int max_tokens = 1 << 30;
  std::string model;
};

__device__ uint32_t Hash(uint64_t i, uint32_t seed) {
  uint64_t x = i * 0x9E3779B97F4A7C15ull + seed;
  x ^= x >> 31;
  x *= 0xBF58476D1CE4E5B9ull;
  x ^= x >> 29;
  return static_cast<uint32_t>(x);
}

// Values in [-scale, scale).
__global__ void FillBf16(__nv_bfloat16* p, int64_t n, uint32_t seed, float scale) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n; i += int64_t{gridDim.x} * blockDim.x) {
    p[i] = __float2bfloat16((Hash(i, seed) * (1.0f / 4294967296.0f) * 2.f - 1.f) * scale);
  }
}
__global__ void FillFloat(float* p, int64_t n, uint32_t seed, float scale) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n; i += int64_t{gridDim.x} * blockDim.x) {
    p[i] = (Hash(i, seed) * (1.0f / 4294967296.0f) * 2.f - 1.f) * scale;
  }
}

absl::Status Fill(const DeviceBuffer& b, bool bf16, uint32_t seed, float scale) {
  const int64_t n = b.bytes() / (bf16 ? 2 : 4);
  if (n == 0) return absl::OkStatus();
  if (bf16) {
    FillBf16<<<1024, 256>>>(b.at<__nv_bfloat16>(0), n, seed, scale);
  } else {
    FillFloat<<<1024, 256>>>(b.at<float>(0), n, seed, scale);
  }
  return engine::cuda::CheckLaunch("Fill");
}

// Median milliseconds of `reps` timed runs of `fn` after `warmup` untimed ones.
template <typename Fn>
absl::StatusOr<double> TimeMs(Fn&& fn, cudaStream_t stream, int reps, int warmup = 3) {
  for (int i = 0; i < warmup; ++i) RETURN_IF_ERROR(fn());
  RETURN_IF_ERROR(CudaStatus(cudaStreamSynchronize(stream), "warm-up"));
  cudaEvent_t start, stop;
  RETURN_IF_ERROR(CudaStatus(cudaEventCreate(&start), "cudaEventCreate"));
  RETURN_IF_ERROR(CudaStatus(cudaEventCreate(&stop), "cudaEventCreate"));
  auto once = [&](float* ms) -> absl::Status {
    RETURN_IF_ERROR(CudaStatus(cudaEventRecord(start, stream), "cudaEventRecord"));
    RETURN_IF_ERROR(fn());
    RETURN_IF_ERROR(CudaStatus(cudaEventRecord(stop, stream), "cudaEventRecord"));
    RETURN_IF_ERROR(CudaStatus(cudaEventSynchronize(stop), "cudaEventSynchronize"));
    return CudaStatus(cudaEventElapsedTime(ms, start, stop), "cudaEventElapsedTime");
  };
  std::vector<float> times;
  for (int i = 0; i < std::max(1, reps); ++i) {
    float ms = 0;
    if (const absl::Status s = once(&ms); !s.ok()) {
      cudaEventDestroy(start);
      cudaEventDestroy(stop);
      return s;
    }
    times.push_back(ms);
  }
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  std::sort(times.begin(), times.end());
  return static_cast<double>(times[times.size() / 2]);
}

// Fewer repetitions for long cases: about half a second of timing each.
int RepsFor(double first_ms, int reps) {
  if (first_ms <= 0) return reps;
  return std::max(3, std::min(reps, static_cast<int>(500.0 / first_ms)));
}

// Device-to-device cudaMemcpy bandwidth, GB/s counting read plus write.
absl::StatusOr<double> CopyBandwidth(cudaStream_t stream) {
  const int64_t bytes = int64_t{1} << 30;
  ASSIGN_OR_RETURN(DeviceBuffer src, DeviceBuffer::Allocate(bytes));
  ASSIGN_OR_RETURN(DeviceBuffer dst, DeviceBuffer::Allocate(bytes));
  RETURN_IF_ERROR(Fill(src, false, 1, 1.f));
  ASSIGN_OR_RETURN(double ms, TimeMs(
                                  [&] {
                                    return CudaStatus(cudaMemcpyAsync(dst.data(), src.data(), bytes,
                                                                      cudaMemcpyDeviceToDevice, stream),
                                                      "cudaMemcpyAsync");
                                  },
                                  stream, 20));
  return 2.0 * bytes / (ms * 1e-3) / 1e9;
}

// A dense row-major out[m, n] = a[m, k] · w[n, k]ᵀ with cublasGemmEx, bf16 in
// and out, fp32 accumulate; returns TFLOP/s. Buffers are the caller's.
absl::StatusOr<double> DenseTflops(cublasHandle_t handle, cudaStream_t stream, int m, int n, int k,
                                   const __nv_bfloat16* a, const __nv_bfloat16* w, __nv_bfloat16* out, int reps) {
  const float alpha = 1.f, beta = 0.f;
  RETURN_IF_ERROR(CublasStatus(cublasSetStream(handle, stream), "cublasSetStream"));
  auto gemm = [&] {
    return CublasStatus(cublasGemmEx(handle, CUBLAS_OP_T, CUBLAS_OP_N, n, m, k, &alpha, w, CUDA_R_16BF, k, a,
                                     CUDA_R_16BF, k, &beta, out, CUDA_R_16BF, n, CUBLAS_COMPUTE_32F,
                                     CUBLAS_GEMM_DEFAULT),
                        "cublasGemmEx");
  };
  ASSIGN_OR_RETURN(double first, TimeMs(gemm, stream, 1, 1));
  ASSIGN_OR_RETURN(double ms, TimeMs(gemm, stream, RepsFor(first, reps), 1));
  return 2.0 * m * n * k / (ms * 1e-3) / 1e12;
}

template <typename T>
absl::StatusOr<DeviceBuffer> Upload(const std::vector<T>& v) {
  ASSIGN_OR_RETURN(DeviceBuffer b, DeviceBuffer::Allocate(std::max<int64_t>(1, v.size() * sizeof(T))));
  if (!v.empty()) {
    RETURN_IF_ERROR(CudaStatus(cudaMemcpy(b.data(), v.data(), v.size() * sizeof(T), cudaMemcpyHostToDevice),
                               "upload"));
  }
  return b;
}

absl::Status RunShape(const MoeShape& shape, const Options& opt, cublasHandle_t handle, cudaStream_t stream,
                      double copy_gbps) {
  std::vector<int> token_counts;
  for (int t : TokenCounts()) {
    if (t <= opt.max_tokens) token_counts.push_back(t);
  }
  if (token_counts.empty()) return absl::OkStatus();
  const int max_tokens = token_counts.back();
  const int64_t h = shape.hidden, inter = shape.intermediate;
  const int groups = shape.experts + shape.shared_experts;
  const int64_t max_rows = int64_t{max_tokens} * (shape.top_k + shape.shared_experts);

  // Weights once per shape: gate/up [groups, 2I, H] and down [groups, H, I], bf16.
  ASSIGN_OR_RETURN(DeviceBuffer w_gate_up, DeviceBuffer::Allocate(groups * 2 * inter * h * 2));
  ASSIGN_OR_RETURN(DeviceBuffer w_down, DeviceBuffer::Allocate(groups * h * inter * 2));
  RETURN_IF_ERROR(Fill(w_gate_up, true, 11, 0.02f));
  RETURN_IF_ERROR(Fill(w_down, true, 12, 0.02f));
  // Own path: float activations [tokens, H] gathered by a_rows, float outputs.
  ASSIGN_OR_RETURN(DeviceBuffer x, DeviceBuffer::Allocate(int64_t{max_tokens} * h * 4));
  ASSIGN_OR_RETURN(DeviceBuffer act, DeviceBuffer::Allocate(max_rows * inter * 4));
  ASSIGN_OR_RETURN(DeviceBuffer y, DeviceBuffer::Allocate(max_rows * h * 4));
  RETURN_IF_ERROR(Fill(x, false, 13, 1.f));
  // cuBLAS paths: bf16 rows already grouped [rows, H], gate/up out [rows, 2I]
  // (also the dense GEMM's out [rows, 3I] up to its size), down in/out.
  ASSIGN_OR_RETURN(DeviceBuffer xb, DeviceBuffer::Allocate(max_rows * h * 2));
  ASSIGN_OR_RETURN(DeviceBuffer gu_b, DeviceBuffer::Allocate(max_rows * 3 * inter * 2));
  ASSIGN_OR_RETURN(DeviceBuffer act_b, DeviceBuffer::Allocate(max_rows * inter * 2));
  ASSIGN_OR_RETURN(DeviceBuffer y_b, DeviceBuffer::Allocate(max_rows * h * 2));
  ASSIGN_OR_RETURN(DeviceBuffer pointers, DeviceBuffer::Allocate(3 * groups * sizeof(void*)));
  RETURN_IF_ERROR(Fill(xb, true, 14, 1.f));
  RETURN_IF_ERROR(Fill(act_b, true, 15, 1.f));
  // The dense reference: one [rows, H] × [H, 3I] GEMM has the layer's FLOPs;
  // its weight is the first 3I·H elements of the gate/up weights (two or more
  // groups of 2I·H), its output the gate/up output buffer.
  const bool dense_weight_fits = int64_t{groups} * 2 * inter >= 3 * inter;
  std::map<int, double> dense_by_rows;

  for (int tokens : token_counts) {
    for (Routing routing : {Routing::kUniform, Routing::kZipf}) {
      const RoutingPlan plan = MakeRouting(shape, tokens, routing, 1234 + tokens);
      const int rows = plan.rows();
      ASSIGN_OR_RETURN(DeviceBuffer d_offsets, Upload(plan.offsets));
      ASSIGN_OR_RETURN(DeviceBuffer d_rows, Upload(plan.a_rows));

      GroupedGemmParams gate_up;
      gate_up.a = x.at<float>(0);
      gate_up.a_rows = d_rows.at<int32_t>(0);
      gate_up.w = w_gate_up.at<__nv_bfloat16>(0);
      gate_up.offsets = d_offsets.at<int32_t>(0);
      gate_up.num_groups = groups;
      gate_up.m = rows;
      gate_up.n = static_cast<int32_t>(inter);
      gate_up.k = static_cast<int32_t>(h);
      gate_up.silu_mul = true;
      gate_up.out = act.at<float>(0);
      GroupedGemmParams down;
      down.a = act.at<float>(0);
      down.w = w_down.at<__nv_bfloat16>(0);
      down.offsets = d_offsets.at<int32_t>(0);
      down.num_groups = groups;
      down.m = rows;
      down.n = static_cast<int32_t>(h);
      down.k = static_cast<int32_t>(inter);
      down.out = y.at<float>(0);
      auto own = [&]() -> absl::Status {
        RETURN_IF_ERROR(GroupedGemm(gate_up, stream));
        return GroupedGemm(down, stream);
      };
      ASSIGN_OR_RETURN(double own_first, TimeMs(own, stream, 1, 1));
      ASSIGN_OR_RETURN(double own_ms, TimeMs(own, stream, RepsFor(own_first, opt.reps)));

      CublasGroupedGemmParams cg_gate_up;
      cg_gate_up.a = xb.at<__nv_bfloat16>(0);
      cg_gate_up.w = w_gate_up.at<__nv_bfloat16>(0);
      cg_gate_up.offsets = plan.offsets;
      cg_gate_up.n = static_cast<int32_t>(2 * inter);
      cg_gate_up.k = static_cast<int32_t>(h);
      cg_gate_up.out = gu_b.at<__nv_bfloat16>(0);
      cg_gate_up.device_pointers = pointers.at<void*>(0);
      CublasGroupedGemmParams cg_down;
      cg_down.a = act_b.at<__nv_bfloat16>(0);
      cg_down.w = w_down.at<__nv_bfloat16>(0);
      cg_down.offsets = plan.offsets;
      cg_down.n = static_cast<int32_t>(h);
      cg_down.k = static_cast<int32_t>(inter);
      cg_down.out = y_b.at<__nv_bfloat16>(0);
      cg_down.device_pointers = pointers.at<void*>(0);
      auto cublas_grouped = [&]() -> absl::Status {
        RETURN_IF_ERROR(CublasGroupedGemm(handle, cg_gate_up, stream));
        return CublasGroupedGemm(handle, cg_down, stream);
      };
      double cublas_ms = -1;
      {
        absl::StatusOr<double> first = TimeMs(cublas_grouped, stream, 1, 1);
        absl::StatusOr<double> ms =
            first.ok() ? TimeMs(cublas_grouped, stream, RepsFor(*first, opt.reps)) : first;
        if (ms.ok()) {
          cublas_ms = *ms;
        } else {
          std::fprintf(stderr, "%s %d: cuBLAS grouped failed: %s\n", shape.name.c_str(), tokens,
                       ms.status().ToString().c_str());
        }
      }

      if (dense_by_rows.count(rows) == 0) {
        double tflops = -1;
        if (dense_weight_fits) {
          ASSIGN_OR_RETURN(tflops, DenseTflops(handle, stream, rows, static_cast<int>(3 * inter),
                                               static_cast<int>(h), xb.at<__nv_bfloat16>(0),
                                               w_gate_up.at<__nv_bfloat16>(0), gu_b.at<__nv_bfloat16>(0), opt.reps));
        }
        dense_by_rows[rows] = tflops;
      }

      CaseResult r;
      r.model = shape.name;
      r.tokens = tokens;
      r.routing = RoutingName(routing);
      r.experts_read = ExpertsRead(shape, plan);
      r.own_us = own_ms * 1e3;
      r.gbps = WeightBytesRead(shape, plan) / (own_ms * 1e-3) / 1e9;
      r.copy_fraction = r.gbps / copy_gbps;
      r.tflops = ExpertFlops(shape, plan) / (own_ms * 1e-3) / 1e12;
      r.dense_fraction = dense_by_rows[rows] > 0 ? r.tflops / dense_by_rows[rows] : 0;
      r.cublas_grouped_us = cublas_ms > 0 ? cublas_ms * 1e3 : -1;  // -1: failed (reason on stderr)
      std::fputs(FormatRow(r).c_str(), stdout);
      std::fflush(stdout);
    }
  }
  return absl::OkStatus();
}

absl::Status Run(const Options& opt) {
  cudaStream_t stream;
  RETURN_IF_ERROR(CudaStatus(cudaStreamCreate(&stream), "cudaStreamCreate"));
  cublasHandle_t handle;
  RETURN_IF_ERROR(CublasStatus(cublasCreate(&handle), "cublasCreate"));
  ASSIGN_OR_RETURN(double copy_gbps, CopyBandwidth(stream));
  // The headline dense rate, for reference: 8192³.
  double peak = 0;
  {
    const int64_t s = 8192;
    ASSIGN_OR_RETURN(DeviceBuffer a, DeviceBuffer::Allocate(s * s * 2));
    ASSIGN_OR_RETURN(DeviceBuffer b, DeviceBuffer::Allocate(s * s * 2));
    ASSIGN_OR_RETURN(DeviceBuffer c, DeviceBuffer::Allocate(s * s * 2));
    RETURN_IF_ERROR(Fill(a, true, 1, 1.f));
    RETURN_IF_ERROR(Fill(b, true, 2, 0.02f));
    ASSIGN_OR_RETURN(peak, DenseTflops(handle, stream, s, s, s, a.at<__nv_bfloat16>(0), b.at<__nv_bfloat16>(0),
                                       c.at<__nv_bfloat16>(0), opt.reps));
  }
  cudaDeviceProp prop;
  RETURN_IF_ERROR(CudaStatus(cudaGetDeviceProperties(&prop, 0), "cudaGetDeviceProperties"));
  std::printf("# MoE expert GEMMs on %s\n\n", prop.name);
  std::printf("D2D cudaMemcpy bandwidth (read + write): %.0f GB/s; dense cuBLAS bf16 8192^3: %.1f TFLOP/s\n\n",
              copy_gbps, peak);
  std::fputs(TableHeader().c_str(), stdout);
  for (const MoeShape& shape : MoeShapes()) {
    if (!opt.model.empty() && shape.name.find(opt.model) == std::string::npos) continue;
    RETURN_IF_ERROR(RunShape(shape, opt, handle, stream, copy_gbps));
  }
  cublasDestroy(handle);
  cudaStreamDestroy(stream);
  return absl::OkStatus();
}

}  // namespace
}  // namespace switchyard::bench

int main(int argc, char** argv) {
  switchyard::bench::Options opt;
  for (int i = 1; i < argc; ++i) {
    const char* arg = argv[i];
    if (std::strncmp(arg, "--reps=", 7) == 0) {
      opt.reps = std::max(1, std::atoi(arg + 7));
    } else if (std::strncmp(arg, "--model=", 8) == 0) {
      opt.model = arg + 8;
    } else if (std::strncmp(arg, "--max-tokens=", 13) == 0) {
      opt.max_tokens = std::atoi(arg + 13);
    } else {
      std::fprintf(stderr, "usage: %s [--reps=N] [--model=SUBSTRING] [--max-tokens=N]\n", argv[0]);
      return 2;
    }
  }
  int devices = 0;
  const cudaError_t err = cudaGetDeviceCount(&devices);
  if (err != cudaSuccess || devices == 0) {
    std::printf("moe_gpu_bench: no CUDA device found (%s); nothing to measure.\n",
                err != cudaSuccess ? cudaGetErrorString(err) : "0 devices");
    return 0;
  }
  const absl::Status status = switchyard::bench::Run(opt);
  if (!status.ok()) {
    std::fprintf(stderr, "moe_gpu_bench: %s\n", status.ToString().c_str());
    return 1;
  }
  return 0;
}
