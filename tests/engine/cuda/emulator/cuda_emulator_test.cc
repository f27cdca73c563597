// The emulator itself: threads meet at barriers as on the device, warp calls
// exchange the right lanes' values, WMMA computes a·b + c, and each misuse the
// header promises to catch fails the launch with a sticky error. Compiled, as
// the kernels are, with cuda_emulator.h force-included.
#include <gtest/gtest.h>
#include <mma.h>

#include <numeric>
#include <vector>

namespace {

using cuda_emulator::Launch;

// Each test starts from a healthy "device": a violation's error sticks until
// cudaDeviceReset, as a device fault's does.
class EmulatorTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_EQ(cudaDeviceReset(), cudaSuccess); }
};

// Thread i writes shared[i], then after the barrier reads its neighbour's: a
// missing barrier would read the NaN that shared memory starts as.
__global__ void RotateKernel(float* out) {
  // `extern __shared__ float values[];` as emulate_launches.sed writes it
  float* const values = static_cast<float*>(cuda_emulator::DynamicShared());
  const int i = threadIdx.x, n = blockDim.x;
  values[i] = static_cast<float>(blockIdx.x * 1000 + i);
  __syncthreads();
  out[blockIdx.x * n + i] = values[(i + 1) % n];
}

TEST_F(EmulatorTest, SyncThreadsOrdersSharedMemory) {
  std::vector<float> out(3 * 96, -1.f);
  Launch({3, 96, 96 * sizeof(float), nullptr}, "RotateKernel", RotateKernel, out.data());
  ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  for (int b = 0; b < 3; ++b) {
    for (int i = 0; i < 96; ++i) EXPECT_EQ(out[b * 96 + i], b * 1000 + (i + 1) % 96) << b << " " << i;
  }
}

__global__ void ShuffleKernel(int* out) {
  const int lane = threadIdx.x % 32, t = threadIdx.x;
  out[4 * t + 0] = __shfl_xor_sync(0xffffffffu, t, 5);
  out[4 * t + 1] = __shfl_down_sync(0xffffffffu, t, 3);  // the top lanes keep their own
  out[4 * t + 2] = __shfl_sync(0xffffffffu, t, 7, 16);   // lane 7 of each half-warp
  int sum = lane;
  for (int offset = 16; offset > 0; offset /= 2) sum += __shfl_xor_sync(0xffffffffu, sum, offset);
  out[4 * t + 3] = sum;
}

TEST_F(EmulatorTest, WarpShufflesReadTheNamedLane) {
  std::vector<int> out(4 * 64);
  Launch({1, 64, 0, nullptr}, "ShuffleKernel", ShuffleKernel, out.data());
  ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  for (int t = 0; t < 64; ++t) {
    const int lane = t % 32, warp = t / 32 * 32;
    EXPECT_EQ(out[4 * t + 0], warp + (lane ^ 5));
    EXPECT_EQ(out[4 * t + 1], lane + 3 < 32 ? t + 3 : t);
    EXPECT_EQ(out[4 * t + 2], warp + lane / 16 * 16 + 7);
    EXPECT_EQ(out[4 * t + 3], 31 * 32 / 2);
  }
}

__global__ void WmmaKernel(const __nv_bfloat16* a, const __nv_bfloat16* b, float* c) {
  namespace wmma = nvcuda::wmma;
  wmma::fragment<wmma::matrix_a, 16, 16, 16, __nv_bfloat16, wmma::row_major> fa;
  wmma::fragment<wmma::matrix_b, 16, 16, 16, __nv_bfloat16, wmma::col_major> fb;
  wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc;
  wmma::load_matrix_sync(acc, c, 16, wmma::mem_row_major);
  wmma::load_matrix_sync(fa, a, 24);  // a row stride wider than the tile
  wmma::load_matrix_sync(fb, b, 16);
  wmma::mma_sync(acc, fa, fb, acc);
  wmma::store_matrix_sync(c, acc, 16, wmma::mem_row_major);
}

// 32-byte aligned host arrays, as WMMA tiles must be.
template <typename T, size_t N>
struct alignas(32) Tile {
  T v[N];
};

TEST_F(EmulatorTest, WmmaComputesTheProductPlusTheAccumulator) {
  Tile<__nv_bfloat16, 16 * 24> a;
  Tile<__nv_bfloat16, 16 * 16> b;  // column-major: b(k, j) at j * 16 + k
  Tile<float, 16 * 16> c;
  for (int i = 0; i < 16 * 24; ++i) a.v[i] = __float2bfloat16(static_cast<float>(i % 7 - 3));
  for (int i = 0; i < 16 * 16; ++i) b.v[i] = __float2bfloat16(static_cast<float>(i % 5 - 2));
  for (int i = 0; i < 16 * 16; ++i) c.v[i] = static_cast<float>(i);
  std::vector<float> want(256);
  for (int i = 0; i < 16; ++i) {
    for (int j = 0; j < 16; ++j) {
      float s = c.v[i * 16 + j];
      for (int k = 0; k < 16; ++k) s += __bfloat162float(a.v[i * 24 + k]) * __bfloat162float(b.v[j * 16 + k]);
      want[i * 16 + j] = s;
    }
  }
  Launch({1, 32, 0, nullptr}, "WmmaKernel", WmmaKernel, a.v, b.v, c.v);
  ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  EXPECT_EQ(std::vector<float>(c.v, c.v + 256), want);
}

__global__ void AddKernel(float* x, float v) { x[threadIdx.x] += v; }

TEST_F(EmulatorTest, StreamWorkRunsWhenWaitedFor) {
  cudaStream_t stream;
  ASSERT_EQ(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), cudaSuccess);
  std::vector<float> device(4, 0.f), host(4, -1.f);
  Launch({1, 4, 0, stream}, "AddKernel", AddKernel, device.data(), 2.f);
  ASSERT_EQ(cudaMemcpyAsync(host.data(), device.data(), 16, cudaMemcpyDeviceToHost, stream), cudaSuccess);
  EXPECT_EQ(host[0], -1.f) << "read before the stream is synchronised: stale";
  ASSERT_EQ(cudaStreamSynchronize(stream), cudaSuccess);
  EXPECT_EQ(host, std::vector<float>(4, 2.f));
  cudaStreamDestroy(stream);
}

TEST_F(EmulatorTest, AGraphReplaysTheCapturedWorkWithTheCapturedArguments) {
  cudaStream_t stream;
  ASSERT_EQ(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), cudaSuccess);
  std::vector<float> x(4, 0.f);
  float v = 1.f;
  ASSERT_EQ(cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal), cudaSuccess);
  Launch({1, 4, 0, stream}, "AddKernel", AddKernel, x.data(), v);
  ASSERT_EQ(cudaMemsetAsync(x.data() + 3, 0, 4, stream), cudaSuccess);
  cudaGraph_t graph;
  ASSERT_EQ(cudaStreamEndCapture(stream, &graph), cudaSuccess);
  EXPECT_EQ(x, std::vector<float>(4, 0.f)) << "capturing runs nothing";
  cudaGraphExec_t exec;
  ASSERT_EQ(cudaGraphInstantiate(&exec, graph, 0), cudaSuccess);
  v = 100.f;  // too late: the graph holds the value it was captured with
  for (int i = 0; i < 3; ++i) ASSERT_EQ(cudaGraphLaunch(exec, stream), cudaSuccess);
  ASSERT_EQ(cudaStreamSynchronize(stream), cudaSuccess);
  EXPECT_EQ(x, (std::vector<float>{3.f, 3.f, 3.f, 0.f}));
  cudaGraphExecDestroy(exec);
  cudaGraphDestroy(graph);
  cudaStreamDestroy(stream);
}

TEST_F(EmulatorTest, ACaptureRefusesSynchronousCallsAndIsInvalidated) {
  cudaStream_t stream;
  ASSERT_EQ(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), cudaSuccess);
  float a = 1.f, b = 0.f;
  ASSERT_EQ(cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal), cudaSuccess);
  EXPECT_EQ(cudaMemcpy(&b, &a, 4, cudaMemcpyHostToDevice), cudaErrorStreamCaptureUnsupported);
  void* p = nullptr;
  EXPECT_EQ(cudaMalloc(&p, 16), cudaErrorStreamCaptureUnsupported);
  cudaGraph_t graph;
  EXPECT_EQ(cudaStreamEndCapture(stream, &graph), cudaErrorStreamCaptureInvalidated);
  EXPECT_EQ(graph, nullptr);
  EXPECT_EQ(cudaStreamBeginCapture(nullptr, cudaStreamCaptureModeThreadLocal), cudaErrorStreamCaptureUnsupported)
      << "the legacy stream cannot be captured";
  cudaStreamDestroy(stream);
}

// ---- misuse ------------------------------------------------------------------

void ExpectLaunchFailure() {
  EXPECT_EQ(cudaGetLastError(), cudaSuccess) << "the launch itself succeeds; the kernel fails when it runs";
  EXPECT_EQ(cudaDeviceSynchronize(), cudaErrorLaunchFailure);
  EXPECT_EQ(cudaGetLastError(), cudaErrorLaunchFailure) << "the error sticks";
  int* p = nullptr;
  EXPECT_EQ(cudaMemcpy(&p, &p, sizeof(p), cudaMemcpyHostToHost), cudaErrorLaunchFailure);
}

__global__ void DivergentBarrierKernel() {
  if (threadIdx.x < 40) __syncthreads();
  __shfl_xor_sync(0xffffffffu, 1, 1);
}

TEST_F(EmulatorTest, ThreadsAtDifferentBarriersFailTheLaunch) {
  Launch({1, 64, 0, nullptr}, "DivergentBarrierKernel", DivergentBarrierKernel);
  ExpectLaunchFailure();
}

__global__ void FullMaskShuffleKernel(int* out) { out[threadIdx.x] = __shfl_xor_sync(0xffffffffu, 1, 1); }

TEST_F(EmulatorTest, AFullMaskInAPartialWarpFailsTheLaunch) {
  std::vector<int> out(48);
  Launch({1, 48, 0, nullptr}, "FullMaskShuffleKernel", FullMaskShuffleKernel, out.data());
  ExpectLaunchFailure();
}

__global__ void ExitedLaneKernel(int* out) {
  if (threadIdx.x == 3) return;
  out[threadIdx.x] = __shfl_xor_sync(0xffffffffu, 1, 1);
}

TEST_F(EmulatorTest, AShuffleNamingAnExitedLaneFailsTheLaunch) {
  std::vector<int> out(32);
  Launch({1, 32, 0, nullptr}, "ExitedLaneKernel", ExitedLaneKernel, out.data());
  ExpectLaunchFailure();
}

__global__ void EarlyExitKernel(int* out) {
  if (threadIdx.x >= 8) return;  // the rest leave: the barrier waits for those still running
  __syncthreads();
  out[threadIdx.x] = 1;
}

TEST_F(EmulatorTest, ExitedThreadsDoNotHoldUpABarrier) {
  std::vector<int> out(64, 0);
  Launch({1, 64, 0, nullptr}, "EarlyExitKernel", EarlyExitKernel, out.data());
  ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  EXPECT_EQ(std::accumulate(out.begin(), out.end(), 0), 8);
}

TEST_F(EmulatorTest, AMisalignedWmmaTileFailsTheLaunch) {
  Tile<__nv_bfloat16, 16 * 32> a, b;
  Tile<float, 16 * 16> c{};
  Launch({1, 32, 0, nullptr}, "WmmaKernel", WmmaKernel, a.v + 8, b.v, c.v);  // 16 bytes off
  ExpectLaunchFailure();
}

TEST_F(EmulatorTest, BadConfigurationsAreRejectedWithoutRunning) {
  std::vector<float> out(4096, -1.f);
  Launch({1, 2048, 0, nullptr}, "RotateKernel", RotateKernel, out.data());
  EXPECT_EQ(cudaGetLastError(), cudaErrorInvalidConfiguration);
  Launch({dim3(1, 70000), 32, 0, nullptr}, "RotateKernel", RotateKernel, out.data());
  EXPECT_EQ(cudaGetLastError(), cudaErrorInvalidConfiguration);
  Launch({1, 32, 64 * 1024, nullptr}, "RotateKernel", RotateKernel, out.data());
  EXPECT_EQ(cudaGetLastError(), cudaErrorInvalidConfiguration);
  EXPECT_EQ(cudaGetLastError(), cudaSuccess) << "a configuration error does not stick";
  EXPECT_EQ(out[0], -1.f);
}

}  // namespace
