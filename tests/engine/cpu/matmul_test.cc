#include "engine/cpu/matmul.h"

#include <gtest/gtest.h>

#include <random>

namespace switchyard::engine::cpu {
namespace {

// Every path (streamed few-row kernel, sgemm, BF16 widened tiles; odd sizes
// that leave tails) against a double-precision reference.
TEST(MatMulTest, MatchesReferenceOnRandomShapes) {
  std::mt19937 rng(11);
  std::uniform_real_distribution<float> uni(-1.f, 1.f);
  for (DType dt : {DType::kF32, DType::kBF16}) {
    for (int64_t m : {1, 2, 3, 4, 5, 7, 15, 16, 33}) {
      for (int64_t k : {1, 8, 13, 64, 100}) {
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

}  // namespace
}  // namespace switchyard::engine::cpu
