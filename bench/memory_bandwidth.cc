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
  for (int rep = 0; rep < 10; ++rep) {
    const auto start = std::chrono::steady_clock::now();
    float total = 0;
#pragma omp parallel reduction(+ : total)
    {
      // Four independent add chains per thread, a cache line per iteration,
      // so that the loop is bound by memory and not by add latency.
      __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
#pragma omp for schedule(static)
      for (size_t i = 0; i < kFloats; i += 32) {
        for (int j = 0; j < 4; ++j) acc[j] = _mm256_add_ps(acc[j], _mm256_load_ps(data + i + 8 * j));
      }
      float lanes[8];
      _mm256_storeu_ps(lanes, _mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3])));
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
