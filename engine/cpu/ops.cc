#include "engine/cpu/ops.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace switchyard::engine::cpu {

void RmsNorm(const float* x, const float* weight, int64_t rows, int64_t n, float eps, float* out) {
#pragma omp parallel for schedule(static) if (rows * n > 16384)
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * n;
    float* o = out + r * n;
    float sum = 0.f;
    for (int64_t i = 0; i < n; ++i) sum += xr[i] * xr[i];
    const float scale = 1.0f / std::sqrt(sum / static_cast<float>(n) + eps);
    for (int64_t i = 0; i < n; ++i) o[i] = weight[i] * (xr[i] * scale);
  }
}

void AddBias(float* x, const float* bias, int64_t rows, int64_t n) {
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t i = 0; i < n; ++i) x[r * n + i] += bias[i];
}

void Clamp(float* x, int64_t n, float limit) {
  for (int64_t i = 0; i < n; ++i) x[i] = std::clamp(x[i], -limit, limit);
}

void ApplyRope(float* x, const int32_t* positions, int64_t tokens, int32_t num_heads, int32_t head_dim, double theta) {
  const int32_t half = head_dim / 2;
  // inv_freq is computed in float32 as transformers does, so that the angles
  // (and hence the logits) agree to float precision at long positions.
  std::vector<float> inv_freq(half);
  for (int32_t i = 0; i < half; ++i) {
    inv_freq[i] = static_cast<float>(1.0 / std::pow(theta, static_cast<double>(2 * i) / head_dim));
  }
#pragma omp parallel if (tokens > 16)
  {
    std::vector<float> cos_v(half), sin_v(half);  // one pair per thread
#pragma omp for schedule(static)
    for (int64_t t = 0; t < tokens; ++t) {
      for (int32_t i = 0; i < half; ++i) {
        const float angle = static_cast<float>(positions[t]) * inv_freq[i];
        cos_v[i] = std::cos(angle);
        sin_v[i] = std::sin(angle);
      }
      for (int32_t h = 0; h < num_heads; ++h) {
        float* v = x + (t * num_heads + h) * head_dim;
        for (int32_t i = 0; i < half; ++i) {
          const float a = v[i], b = v[i + half];
          v[i] = a * cos_v[i] - b * sin_v[i];
          v[i + half] = b * cos_v[i] + a * sin_v[i];
        }
      }
    }
  }
}

void SiluMul(const float* gate_up, int64_t rows, int64_t inter, float* out) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* g = gate_up + r * 2 * inter;
    const float* u = g + inter;
    float* o = out + r * inter;
    for (int64_t i = 0; i < inter; ++i) o[i] = g[i] / (1.0f + std::exp(-g[i])) * u[i];
  }
}

}  // namespace switchyard::engine::cpu
