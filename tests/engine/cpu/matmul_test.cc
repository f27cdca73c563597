#include "engine/cpu/matmul.h"

#include <gtest/gtest.h>

#include <random>

#include "engine/cpu/bf16_kernels.h"

namespace switchyard::engine::cpu {
namespace {

// Every path (streamed few-row F32 kernel, sgemm, the active BF16 kernel;
// odd sizes that leave tails) against a double-precision reference.
TEST(MatMulTest, MatchesReferenceOnRandomShapes) {
  std::mt19937 rng(11);
  std::uniform_real_distribution<float> uni(-1.f, 1.f);
  for (DType dt : {DType::kF32, DType::kBF16}) {
    for (int64_t m : {1, 2, 3, 4, 5, 7, 15, 16, 33}) {
      for (int64_t k : {1, 8, 13, 64, 100, 300}) {
        const int64_t n = 1 + rng() % 150;
        HostTensor w(dt, {n, k});
        std::vector<float> wf(n * k), a(m * k), c(m * n);
        for (int64_t i = 0; i < n * k; ++i) {
          wf[i] = uni(rng);
          if (dt == DType::kBF16) {
            const uint16_t b = FloatToBF16(wf[i]);
            static_cast<uint16_t*>(w.data())[i] = b;
            wf[i] = BF16ToFloat(b);
          } else {
            w.f32()[i] = wf[i];
          }
        }
        for (float& v : a) v = uni(rng);
        MatMul(a.data(), m, WeightView::Of(w), c.data());
        for (int64_t r = 0; r < m; ++r) {
          for (int64_t j = 0; j < n; ++j) {
            double ref = 0;
            for (int64_t i = 0; i < k; ++i) ref += double(a[r * k + i]) * wf[j * k + i];
            ASSERT_NEAR(c[r * n + j], ref, 1e-4 * (1 + std::abs(ref)))
                << "dtype " << DTypeName(dt) << " m=" << m << " k=" << k << " n=" << n << " at " << r << "," << j;
          }
        }
      }
    }
  }
}

// Each BF16 kernel this processor runs, not only the active one: every row
// block (1 to 8 rows and their remainders), column blocks with tails, depths
// with and without a tail past the last whole chunk, a column range that
// starts inside W.
TEST(MatMulTest, EveryBf16KernelMatchesReference) {
  std::vector<Bf16Kernel> kernels = {Bf16KernelAvx2()};
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw")) kernels.push_back(Bf16KernelAvx512());
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> uni(-1.f, 1.f);
  for (const Bf16Kernel& kernel : kernels) {
    for (int64_t m : {1, 2, 3, 5, 8, 11, 16, 23}) {
      for (int64_t k : {7, 32, 48, 97, 256}) {
        const int64_t n = 1 + rng() % 40, n_begin = rng() % n;
        std::vector<uint16_t> w(n * k);
        std::vector<float> a(m * k), split(m * k), c(m * n, -7.f);
        for (uint16_t& v : w) v = FloatToBF16(uni(rng));
        for (float& v : a) v = uni(rng);
        SplitEvenOdd(a.data(), k, m, k, kernel.chunk, split.data());
        kernel.run(split.data(), k, m, w.data(), k, n_begin, n, c.data(), n);
        for (int64_t r = 0; r < m; ++r) {
          for (int64_t j = 0; j < n; ++j) {
            if (j < n_begin) {
              ASSERT_EQ(c[r * n + j], -7.f) << "column outside the range written";
              continue;
            }
            double ref = 0;
            for (int64_t i = 0; i < k; ++i) ref += double(a[r * k + i]) * BF16ToFloat(w[j * k + i]);
            ASSERT_NEAR(c[r * n + j], ref, 1e-4 * (1 + std::abs(ref)))
                << kernel.isa << " m=" << m << " k=" << k << " n=" << n << " at " << r << "," << j;
          }
        }
      }
    }
  }
}

}  // namespace
}  // namespace switchyard::engine::cpu
