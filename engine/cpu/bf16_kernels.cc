#include "engine/cpu/bf16_kernels.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

namespace switchyard::engine::cpu {
namespace {

Bf16Kernel Choose() {
  __builtin_cpu_init();
  const bool avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw");
  const char* pinned = std::getenv("SWITCHYARD_CPU_ISA");
  if (avx512 && (pinned == nullptr || std::strcmp(pinned, "avx2") != 0)) return Bf16KernelAvx512();
  return Bf16KernelAvx2();
}

}  // namespace

const Bf16Kernel& ActiveBf16Kernel() {
  static const Bf16Kernel kernel = Choose();
  return kernel;
}

void SplitEvenOdd(const float* a, int64_t lda, int64_t m, int64_t k, int64_t chunk, float* out) {
  const int64_t whole = k / chunk * chunk, half = chunk / 2;
  for (int64_t r = 0; r < m; ++r) {
    const float* src = a + r * lda;
    float* dst = out + r * k;
    for (int64_t i = 0; i < whole; i += chunk) {
      for (int64_t j = 0; j < half; ++j) {
        dst[i + j] = src[i + 2 * j];
        dst[i + half + j] = src[i + 2 * j + 1];
      }
    }
    std::copy(src + whole, src + k, dst + whole);
  }
}

}  // namespace switchyard::engine::cpu
