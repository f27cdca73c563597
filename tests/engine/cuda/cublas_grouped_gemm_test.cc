// cuBLAS's grouped GEMM, the other path for prefill-sized groups, against our
// own kernel on the same groups. Skips without a CUDA device.
#include <cublas_v2.h>
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "engine/cuda/cublas_grouped_gemm.h"
#include "engine/cuda/grouped_gemm.h"
#include "tests/engine/cuda/gpu_test_util.h"

namespace switchyard::engine::cuda {
namespace {

TEST(GroupedGemmTest, CublasGroupedPathAgreesWithOwnKernel) {
  SKIP_WITHOUT_GPU();
  std::mt19937 rng(3);
  const std::vector<int32_t> offsets = {0, 4, 4, 70, 71, 100};
  const int32_t groups = 5, m = 100, n = 96, k = 64;
  std::vector<float> a = RoundBf16(Random(m * k, rng)), w = RoundBf16(Random(groups * n * k, rng));
  DeviceBuffer d_a32 = ToDevice(a), d_a16 = ToDevice(ToBf16(a)), d_w = ToDevice(ToBf16(w)), d_off = ToDevice(offsets);
  DeviceBuffer d_own = ToDevice(std::vector<float>(m * n)), d_cublas = ToDevice(std::vector<uint16_t>(m * n));
  DeviceBuffer d_ptrs = ToDevice(std::vector<uint64_t>(3 * groups));
  GroupedGemmParams p;
  p.a = Ptr<float>(d_a32);
  p.w = Ptr<__nv_bfloat16>(d_w);
  p.offsets = Ptr<int32_t>(d_off);
  p.num_groups = groups;
  p.m = m;
  p.n = n;
  p.k = k;
  p.out = MutPtr<float>(d_own);
  ASSERT_TRUE(GroupedGemm(p, nullptr).ok());
  cublasHandle_t handle;
  ASSERT_EQ(cublasCreate(&handle), CUBLAS_STATUS_SUCCESS);
  CublasGroupedGemmParams c;
  c.a = Ptr<__nv_bfloat16>(d_a16);
  c.w = Ptr<__nv_bfloat16>(d_w);
  c.offsets = offsets;
  c.n = n;
  c.k = k;
  c.out = MutPtr<__nv_bfloat16>(d_cublas);
  c.device_pointers = MutPtr<void*>(d_ptrs);
  const absl::Status status = CublasGroupedGemm(handle, c, nullptr);
  ASSERT_TRUE(status.ok()) << status;
  const std::vector<float> own = FromDevice<float>(d_own, m * n);
  const std::vector<uint16_t> theirs = FromDevice<uint16_t>(d_cublas, m * n);
  cublasDestroy(handle);
  for (int32_t i = 0; i < m * n; ++i) {
    ASSERT_NEAR(BF16ToFloat(theirs[i]), own[i], 1e-2 * std::abs(own[i]) + 2e-2) << i;  // cuBLAS rounds C to bf16
  }
}

}  // namespace
}  // namespace switchyard::engine::cuda
