#include "engine/cpu/moe.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

namespace switchyard::engine::cpu {
namespace {

struct MoeCase {
  int32_t T, H, I, E, k;
  bool renormalize;
  bool shared;
  DType dtype;
};

HostTensor Random(DType dt, std::vector<int64_t> shape, std::mt19937& rng, float scale = 0.3f) {
  HostTensor t(dt, std::move(shape));
  std::uniform_real_distribution<float> uni(-scale, scale);
  for (int64_t i = 0; i < t.numel(); ++i) {
    if (dt == DType::kF32) t.f32()[i] = uni(rng);
    else static_cast<uint16_t*>(t.data())[i] = FloatToBF16(uni(rng));
  }
  return t;
}

float At(const HostTensor& t, int64_t i) {
  return t.dtype() == DType::kF32 ? t.f32()[i] : BF16ToFloat(static_cast<const uint16_t*>(t.data())[i]);
}

// y = down · (silu(gate · x) * (up · x)) for one token, from the stacked tensors.
std::vector<double> NaiveExpert(const HostTensor& gu, const HostTensor& down, int64_t e, const float* x, int64_t H,
                                int64_t I) {
  std::vector<double> act(I), y(H, 0.0);
  for (int64_t i = 0; i < I; ++i) {
    double g = 0, u = 0;
    for (int64_t h = 0; h < H; ++h) {
      g += At(gu, (e * 2 * I + i) * H + h) * x[h];
      u += At(gu, (e * 2 * I + I + i) * H + h) * x[h];
    }
    act[i] = g / (1 + std::exp(-g)) * u;
  }
  for (int64_t h = 0; h < H; ++h)
    for (int64_t i = 0; i < I; ++i) y[h] += At(down, (e * H + h) * I + i) * act[i];
  return y;
}

// The per-token loop MoE must NOT be implemented as, used here as the reference.
std::vector<double> NaiveMoe(const MoeWeights& w, const MoeCase& c, const std::vector<float>& x,
                             std::vector<int32_t>& counts) {
  std::vector<double> out(c.T * c.H, 0.0);
  for (int32_t t = 0; t < c.T; ++t) {
    const float* xt = &x[t * c.H];
    std::vector<double> p(c.E);
    double mx = -1e30, z = 0;
    for (int32_t e = 0; e < c.E; ++e) {
      p[e] = 0;
      for (int32_t h = 0; h < c.H; ++h) p[e] += w.router.f32()[e * c.H + h] * xt[h];
      mx = std::max(mx, p[e]);
    }
    for (double& v : p) z += (v = std::exp(v - mx));
    for (double& v : p) v /= z;
    std::vector<int32_t> order(c.E);
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return p[a] > p[b]; });
    double total = 0;
    for (int32_t j = 0; j < c.k; ++j) total += p[order[j]];
    for (int32_t j = 0; j < c.k; ++j) {
      const int32_t e = order[j];
      ++counts[e];
      const double weight = c.renormalize ? p[e] / total : p[e];
      const std::vector<double> y = NaiveExpert(w.experts_gate_up, w.experts_down, e, xt, c.H, c.I);
      for (int32_t h = 0; h < c.H; ++h) out[t * c.H + h] += weight * y[h];
    }
    if (c.shared) {
      double g = 0;
      for (int32_t h = 0; h < c.H; ++h) g += w.shared_expert_gate.f32()[h] * xt[h];
      const std::vector<double> y = NaiveExpert(w.shared_expert.gate_up, w.shared_expert.down, 0, xt, c.H, 2 * c.I);
      for (int32_t h = 0; h < c.H; ++h) out[t * c.H + h] += y[h] / (1 + std::exp(-g));
    }
  }
  return out;
}

class MoeTest : public ::testing::TestWithParam<MoeCase> {};

TEST_P(MoeTest, MatchesPerTokenReference) {
  const MoeCase c = GetParam();
  std::mt19937 rng(c.T * 31 + c.E);
  MoeWeights w;
  w.router = Random(DType::kF32, {c.E, c.H}, rng, 1.0f);
  w.experts_gate_up = Random(c.dtype, {c.E, 2 * c.I, c.H}, rng);
  w.experts_down = Random(c.dtype, {c.E, c.H, c.I}, rng);
  if (c.shared) {
    w.shared_expert.gate_up = Random(c.dtype, {4 * c.I, c.H}, rng);
    w.shared_expert.down = Random(c.dtype, {c.H, 2 * c.I}, rng);
    w.shared_expert_gate = Random(DType::kF32, {1, c.H}, rng);
  }
  std::vector<float> x(c.T * c.H), out(c.T * c.H);
  std::uniform_real_distribution<float> uni(-1.f, 1.f);
  for (float& v : x) v = uni(rng);

  std::vector<int32_t> counts(c.E, 0), ref_counts(c.E, 0);
  MoeWorkspace ws;
  MoeForward(w, MoeParams{c.k, c.renormalize}, x.data(), c.T, out.data(), counts.data(), ws);
  const std::vector<double> ref = NaiveMoe(w, c, x, ref_counts);
  EXPECT_EQ(counts, ref_counts);
  for (int64_t i = 0; i < c.T * c.H; ++i) {
    ASSERT_NEAR(out[i], ref[i], 1e-5 + 1e-4 * std::abs(ref[i])) << "element " << i;
  }
}

INSTANTIATE_TEST_SUITE_P(Shapes, MoeTest,
                         ::testing::Values(MoeCase{1, 16, 8, 4, 2, true, false, DType::kF32},
                                           MoeCase{5, 24, 12, 6, 3, true, false, DType::kF32},
                                           MoeCase{3, 16, 8, 12, 1, false, false, DType::kBF16},
                                           MoeCase{40, 32, 20, 5, 4, false, true, DType::kF32},
                                           MoeCase{64, 40, 24, 8, 2, true, false, DType::kBF16},
                                           MoeCase{2, 16, 8, 64, 8, false, false, DType::kF32}));

TEST(MoeTest, OneExpertReceivesEveryToken) {
  const int32_t T = 20, H = 16, I = 8, E = 7;
  std::mt19937 rng(5);
  MoeWeights w;
  w.router = HostTensor(DType::kF32, {E, H});
  for (int32_t h = 0; h < H; ++h) w.router.f32()[3 * H + h] = 1.0f;  // expert 3 wins for positive x
  w.experts_gate_up = Random(DType::kF32, {E, 2 * I, H}, rng);
  w.experts_down = Random(DType::kF32, {E, H, I}, rng);
  std::vector<float> x(T * H, 0.5f), out(T * H);
  std::vector<int32_t> counts(E, 0);
  MoeWorkspace ws;
  MoeForward(w, MoeParams{1, true}, x.data(), T, out.data(), counts.data(), ws);
  EXPECT_EQ(counts, (std::vector<int32_t>{0, 0, 0, T, 0, 0, 0}));
  const std::vector<double> y = NaiveExpert(w.experts_gate_up, w.experts_down, 3, x.data(), H, I);
  for (int32_t t = 0; t < T; ++t)
    for (int32_t h = 0; h < H; ++h) ASSERT_NEAR(out[t * H + h], y[h], 1e-5);
}

}  // namespace
}  // namespace switchyard::engine::cpu
