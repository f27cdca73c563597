#include "bench/memory_bandwidth.h"

#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>

namespace switchyard::bench {

double MeasureReadBandwidth() {
  constexpr size_t kBytes = size_t{1} << 30;  // 1 GiB: far past any cache
  constexpr size_t kFloats = kBytes / sizeof(float);
  auto* data = static_cast<float*>(std::aligned_alloc(64, kBytes));
#pragma omp parallel for schedule(static)
  for (size_t i = 0; i < kFloats; ++i) data[i] = 1.0f;
  double best = 0;
  for (int rep = 0; rep < 5; ++rep) {
    const auto start = std::chrono::steady_clock::now();
    float total = 0;
#pragma omp parallel reduction(+ : total)
    {
      __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
#pragma omp for schedule(static)
      for (size_t i = 0; i < kFloats; i += 16) {
        acc0 = _mm256_add_ps(acc0, _mm256_load_ps(data + i));
        acc1 = _mm256_add_ps(acc1, _mm256_load_ps(data + i + 8));
      }
      float lanes[8];
      _mm256_storeu_ps(lanes, _mm256_add_ps(acc0, acc1));
      for (float l : lanes) total += l;
    }
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (total != static_cast<float>(kFloats) && total < 0) std::abort();  // keep the sum alive
    best = std::max(best, kBytes / s);
  }
  std::free(data);
  return best;
}

}  // namespace switchyard::bench
