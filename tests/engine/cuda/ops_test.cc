// Every CUDA operation against its CPU reference on random inputs of many
// shapes. Skips without a CUDA device.
#include <gtest/gtest.h>

#include <cmath>
#include <numeric>
#include <random>

#include "engine/cpu/ops.h"
#include "engine/cpu/paged_attention.h"
#include "engine/cuda/dispatch_plan.h"
#include "engine/cuda/grouped_gemm.h"
#include "engine/cuda/kv_cache.h"
#include "engine/cuda/moe_combine.h"
#include "engine/cuda/paged_attention.h"
#include "engine/cuda/rms_norm.h"
#include "engine/cuda/rope.h"
#include "engine/cuda/step_inputs.h"
#include "engine/cuda/router.h"
#include "engine/cuda/topk_routing.h"
#include "engine/dispatch_plan.h"
#include "engine/routing.h"
#include "tests/engine/cuda/gpu_test_util.h"

namespace switchyard::engine::cuda {
namespace {

// ---- grouped GEMM ----------------------------------------------------------

struct GemmCase {
  std::vector<int32_t> counts;  // rows per group
  int32_t n, k;
  bool silu_mul, gather;
};

// Reference in double on the bf16-rounded inputs; the bound is relative to
// the sum of |products|, the scale of float32 accumulation error.
void CheckGroupedGemm(const GemmCase& c, std::mt19937& rng) {
  const int32_t groups = static_cast<int32_t>(c.counts.size());
  std::vector<int32_t> offsets(groups + 1, 0);
  for (int32_t g = 0; g < groups; ++g) offsets[g + 1] = offsets[g] + c.counts[g];
  const int32_t m = offsets[groups];
  const int32_t w_rows = c.silu_mul ? 2 * c.n : c.n;
  const int32_t a_count = c.gather ? m / 2 + 1 : m;
  std::vector<float> a = RoundBf16(Random(int64_t{a_count} * c.k, rng));
  std::vector<float> w = RoundBf16(Random(int64_t{groups} * w_rows * c.k, rng));
  std::vector<int32_t> a_rows(m);
  for (int32_t r = 0; r < m; ++r) a_rows[r] = c.gather ? (r * 7) % a_count : r;

  DeviceBuffer d_a = ToDevice(a), d_w = ToDevice(ToBf16(w)), d_off = ToDevice(offsets), d_rows = ToDevice(a_rows);
  DeviceBuffer d_out = ToDevice(std::vector<float>(std::max(1, m * c.n), NAN));
  GroupedGemmParams p;
  p.a = Ptr<float>(d_a);
  p.a_rows = c.gather ? Ptr<int32_t>(d_rows) : nullptr;
  p.w = Ptr<__nv_bfloat16>(d_w);
  p.offsets = Ptr<int32_t>(d_off);
  p.num_groups = groups;
  p.m = m;
  p.n = c.n;
  p.k = c.k;
  p.silu_mul = c.silu_mul;
  p.out = MutPtr<float>(d_out);
  ASSERT_TRUE(GroupedGemm(p, nullptr).ok());
  const std::vector<float> got = FromDevice<float>(d_out, int64_t{m} * c.n);

  for (int32_t g = 0; g < groups; ++g) {
    for (int32_t r = offsets[g]; r < offsets[g + 1]; ++r) {
      const float* ar = &a[int64_t{a_rows[r]} * c.k];
      auto dot = [&](int32_t wr, double* mag) {
        const float* wv = &w[(int64_t{g} * w_rows + wr) * c.k];
        double s = 0;
        for (int32_t i = 0; i < c.k; ++i) s += double(ar[i]) * wv[i], *mag += std::abs(double(ar[i]) * wv[i]);
        return s;
      };
      for (int32_t j = 0; j < c.n; ++j) {
        double mag = 0, want = dot(j, &mag);
        if (c.silu_mul) {
          const double up = dot(c.n + j, &mag);
          want = want / (1 + std::exp(-want)) * up;
        }
        ASSERT_NEAR(got[int64_t{r} * c.n + j], want, 1e-5 * mag + 1e-6)
            << "group " << g << " row " << r << " col " << j << " n " << c.n << " k " << c.k;
      }
    }
  }
}

TEST(GroupedGemmTest, MatchesReferenceOnManyShapes) {
  SKIP_WITHOUT_GPU();
  std::mt19937 rng(1);
  const std::vector<GemmCase> cases = {
      {{5}, 7, 3, false, false},                          // one tiny group, depth below one k-step
      {{64}, 64, 64, false, false},                       // exact tiles
      {{130}, 200, 100, false, false},                    // edges in every dimension
      {{3, 0, 70, 1, 0, 129}, 48, 64, false, false},      // experts with no tokens
      {{0, 0, 300, 0}, 96, 64, false, false},             // one expert takes everything
      {{9, 17, 0, 33}, 32, 64, true, true},               // fused SiLU·up with gathered rows
      {{1, 1, 1, 1, 1, 1, 1, 1}, 80, 24, true, false},    // decode: one row per expert, depth 24
      {{200, 0, 57}, 500, 64, false, true},               // LM-head-like width
  };
  for (const GemmCase& c : cases) CheckGroupedGemm(c, rng);
}

TEST(GroupedGemmTest, DenseCaseWithoutOffsets) {
  SKIP_WITHOUT_GPU();
  std::mt19937 rng(2);
  const int32_t m = 37, n = 70, k = 48;
  std::vector<float> a = RoundBf16(Random(m * k, rng)), w = RoundBf16(Random(n * k, rng));
  DeviceBuffer d_a = ToDevice(a), d_w = ToDevice(ToBf16(w)), d_out = ToDevice(std::vector<float>(m * n));
  GroupedGemmParams p;
  p.a = Ptr<float>(d_a);
  p.w = Ptr<__nv_bfloat16>(d_w);
  p.m = m;
  p.n = n;
  p.k = k;
  p.out = MutPtr<float>(d_out);
  ASSERT_TRUE(GroupedGemm(p, nullptr).ok());
  const std::vector<float> got = FromDevice<float>(d_out, m * n);
  for (int32_t r = 0; r < m; ++r) {
    for (int32_t j = 0; j < n; ++j) {
      double s = 0, mag = 0;
      for (int32_t i = 0; i < k; ++i) s += double(a[r * k + i]) * w[j * k + i], mag += std::abs(a[r * k + i] * w[j * k + i]);
      ASSERT_NEAR(got[r * n + j], s, 1e-5 * mag + 1e-6);
    }
  }
}

// ---- routing and dispatch --------------------------------------------------

TEST(TopKRoutingTest, SameExpertsAndWeightsAsTheCpuIncludingTies) {
  SKIP_WITHOUT_GPU();
  std::mt19937 rng(4);
  for (const auto& [T, E, k] : std::vector<std::tuple<int, int, int>>{{1, 8, 2}, {37, 8, 2}, {300, 60, 4}, {64, 128, 8}, {5, 12, 1}}) {
    for (bool renormalize : {true, false}) {
      std::vector<float> logits = Random(int64_t{T} * E, rng, 3.f);
      // Ties: repeated values within rows, and a row of equal logits.
      for (int t = 0; t < T; t += 3) logits[int64_t{t} * E + E - 1] = logits[int64_t{t} * E];
      std::fill(logits.begin(), logits.begin() + E, 0.5f);
      Routing want;
      RouteTopK(logits.data(), T, E, k, renormalize, &want);
      DeviceBuffer d_logits = ToDevice(logits), d_ids = ToDevice(std::vector<int32_t>(T * k)),
                   d_w = ToDevice(std::vector<float>(T * k));
      ASSERT_TRUE(TopKRouting({Ptr<float>(d_logits), T, E, k, renormalize, MutPtr<int32_t>(d_ids), MutPtr<float>(d_w)},
                              nullptr)
                      .ok());
      EXPECT_EQ(FromDevice<int32_t>(d_ids, T * k), want.expert_ids) << T << " " << E << " " << k;
      EXPECT_LT(MaxRelativeError(FromDevice<float>(d_w, T * k), want.weights, 1e-6), 1e-5);
    }
  }
}

void CheckDispatch(const std::vector<int32_t>& ids, int32_t tokens, int32_t real, int32_t k, int32_t E) {
  DispatchPlan want;
  BuildDispatchPlan(absl::MakeConstSpan(ids.data(), int64_t{real} * k), real, k, E, &want);
  DeviceBuffer d_ids = ToDevice(ids), d_real = ToDevice(std::vector<int32_t>{real});
  DeviceBuffer d_counts = ToDevice(std::vector<int32_t>(E)), d_off = ToDevice(std::vector<int32_t>(E + 1));
  DeviceBuffer d_rt = ToDevice(std::vector<int32_t>(tokens * k)), d_ar = ToDevice(std::vector<int32_t>(tokens * k));
  DispatchPlanParams p{Ptr<int32_t>(d_ids), Ptr<int32_t>(d_real), tokens,           k, E, MutPtr<int32_t>(d_counts),
                       MutPtr<int32_t>(d_off), MutPtr<int32_t>(d_rt), MutPtr<int32_t>(d_ar)};
  ASSERT_TRUE(BuildDispatchPlanOnDevice(p, nullptr).ok());
  EXPECT_EQ(FromDevice<int32_t>(d_counts, E), want.expert_counts);
  EXPECT_EQ(FromDevice<int32_t>(d_off, E + 1), want.expert_offsets);
  std::vector<int32_t> row_token = FromDevice<int32_t>(d_rt, tokens * k);
  row_token.resize(int64_t{real} * k);
  EXPECT_EQ(row_token, want.row_token);
  std::vector<int32_t> assignment = FromDevice<int32_t>(d_ar, tokens * k);
  for (int32_t a = real * k; a < tokens * k; ++a) EXPECT_EQ(assignment[a], -1) << "padding assignment " << a;
  assignment.resize(int64_t{real} * k);
  EXPECT_EQ(assignment, want.assignment_row);
}

TEST(DispatchPlanTest, SameStablePlanAsTheCpu) {
  SKIP_WITHOUT_GPU();
  std::mt19937 rng(5);
  for (const auto& [T, E, k] : std::vector<std::tuple<int, int, int>>{{1, 8, 2}, {100, 8, 2}, {3000, 60, 4}, {700, 128, 8}, {9, 1000, 1}}) {
    std::vector<int32_t> ids(int64_t{T} * k);
    // Distinct experts per token, as top-k gives; a skewed distribution so
    // that some experts get nothing.
    for (int t = 0; t < T; ++t) {
      for (int j = 0; j < k; ++j) ids[int64_t{t} * k + j] = (static_cast<int>(rng() % (E / 2 + 1)) * k + j) % E;
    }
    CheckDispatch(ids, T, T, k, E);
    CheckDispatch(ids, T, T / 2, k, E);  // the rest is decode-graph padding
  }
}

TEST(DispatchPlanTest, OneExpertReceivesEveryToken) {
  SKIP_WITHOUT_GPU();
  CheckDispatch(std::vector<int32_t>(2500, 3), 2500, 2500, 1, 16);
}

// ---- norms, RoPE, attention --------------------------------------------------

TEST(RmsNormTest, PlainAndFusedWithTheResidualAdd) {
  SKIP_WITHOUT_GPU();
  std::mt19937 rng(6);
  for (const auto& [rows, n] : std::vector<std::pair<int, int>>{{1, 64}, {7, 24}, {33, 4096}, {5, 1000}}) {
    std::vector<float> x = Random(rows * n, rng), delta = Random(rows * n, rng), w = Random(n, rng);
    std::vector<float> want(rows * n);
    cpu::RmsNorm(x.data(), w.data(), rows, n, 1e-6f, want.data());
    DeviceBuffer d_x = ToDevice(x), d_d = ToDevice(delta), d_w = ToDevice(w), d_out = ToDevice(std::vector<float>(rows * n));
    ASSERT_TRUE(RmsNorm({MutPtr<float>(d_x), nullptr, Ptr<float>(d_w), rows, n, 1e-6f, MutPtr<float>(d_out)}, nullptr).ok());
    EXPECT_LT(MaxRelativeError(FromDevice<float>(d_out, rows * n), want), 1e-5);

    std::vector<float> sum(rows * n);
    for (int i = 0; i < rows * n; ++i) sum[i] = x[i] + delta[i];
    cpu::RmsNorm(sum.data(), w.data(), rows, n, 1e-6f, want.data());
    ASSERT_TRUE(
        AddRmsNorm({MutPtr<float>(d_x), Ptr<float>(d_d), Ptr<float>(d_w), rows, n, 1e-6f, MutPtr<float>(d_out)}, nullptr).ok());
    EXPECT_EQ(FromDevice<float>(d_x, rows * n), sum);
    EXPECT_LT(MaxRelativeError(FromDevice<float>(d_out, rows * n), want), 1e-5);
  }
}

TEST(RopeTest, MatchesTheCpuAtShortAndLongPositions) {
  SKIP_WITHOUT_GPU();
  std::mt19937 rng(7);
  const int T = 9, heads = 3, d = 24;
  std::vector<float> x = Random(T * heads * d, rng);
  const std::vector<int32_t> pos = {0, 1, 2, 17, 100, 511, 4000, 32000, 131000};
  std::vector<float> want = x;
  cpu::ApplyRope(want.data(), pos.data(), T, heads, d, 1e6);
  DeviceBuffer d_x = ToDevice(x), d_pos = ToDevice(pos);
  ASSERT_TRUE(ApplyRope({MutPtr<float>(d_x), Ptr<int32_t>(d_pos), T, heads, d, 1e6}, nullptr).ok());
  const std::vector<float> got = FromDevice<float>(d_x, x.size());
  for (size_t i = 0; i < x.size(); ++i) EXPECT_NEAR(got[i], want[i], 2e-4) << i;
}

struct AttentionCase {
  std::vector<std::pair<int32_t, int32_t>> seqs;  // (num_cached, num_tokens)
  int32_t heads, kv_heads, head_dim, block_size;
};

void CheckAttention(const AttentionCase& c, std::mt19937& rng) {
  // Every sequence gets its own blocks, in scrambled order.
  Batch batch;
  std::vector<std::vector<int32_t>> tables;
  int32_t next_block = 0, max_blocks = 0;
  for (auto [cached, tokens] : c.seqs) {
    const int32_t blocks = (cached + tokens + c.block_size - 1) / c.block_size;
    std::vector<int32_t> table(blocks);
    for (int32_t b = 0; b < blocks; ++b) table[b] = next_block + (b * 5) % blocks;
    next_block += blocks;
    max_blocks = std::max(max_blocks, blocks);
    tables.push_back(table);
  }
  for (size_t s = 0; s < c.seqs.size(); ++s) {
    batch.sequences.push_back({c.seqs[s].second, c.seqs[s].first, tables[s], LogitsMode::kLast});
    for (int32_t i = 0; i < c.seqs[s].second; ++i) batch.token_ids.push_back(0);
  }
  const int32_t T = static_cast<int32_t>(batch.token_ids.size());
  const int32_t kv = c.kv_heads * c.head_dim, qs = c.heads * c.head_dim;
  const int64_t slots = int64_t{next_block} * c.block_size;
  // The cache as the device holds it (bf16), widened for the CPU.
  std::vector<float> k_cache = RoundBf16(Random(slots * kv, rng)), v_cache = RoundBf16(Random(slots * kv, rng));
  std::vector<float> q = Random(int64_t{T} * qs, rng);
  const std::vector<cpu::TokenPlace> places = cpu::PlaceTokens(batch);
  std::vector<float> want(int64_t{T} * qs);
  const float scale = 1.0f / std::sqrt(float(c.head_dim));
  cpu::PagedAttention({k_cache.data(), v_cache.data(), DType::kF32, c.block_size, c.kv_heads, c.head_dim}, batch, places,
                      q.data(), c.heads, scale, want.data());

  const StepInputs in = PackStep(batch, c.block_size, max_blocks, 0);
  DeviceBuffer d_q = ToDevice(q), d_k = ToDevice(ToBf16(k_cache)), d_v = ToDevice(ToBf16(v_cache));
  DeviceBuffer d_tables = ToDevice(in.block_tables), d_seqs = ToDevice(in.token_seqs), d_ctx = ToDevice(in.context_lens);
  DeviceBuffer d_out = ToDevice(std::vector<float>(int64_t{T} * qs));
  PagedAttentionParams p;
  p.q = Ptr<float>(d_q);
  p.k_cache = Ptr<__nv_bfloat16>(d_k);
  p.v_cache = Ptr<__nv_bfloat16>(d_v);
  p.block_tables = Ptr<int32_t>(d_tables);
  p.token_seqs = Ptr<int32_t>(d_seqs);
  p.context_lens = Ptr<int32_t>(d_ctx);
  p.num_tokens = T;
  p.num_heads = c.heads;
  p.num_kv_heads = c.kv_heads;
  p.head_dim = c.head_dim;
  p.block_size = c.block_size;
  p.blocks_per_seq = max_blocks;
  p.scale = scale;
  p.out = MutPtr<float>(d_out);
  ASSERT_TRUE(PagedAttention(p, nullptr).ok());
  const std::vector<float> got = FromDevice<float>(d_out, want.size());
  for (size_t i = 0; i < got.size(); ++i) ASSERT_NEAR(got[i], want[i], 1e-4) << i;
}

TEST(PagedAttentionTest, PrefillChunksAndDecodeWithGroupedHeads) {
  SKIP_WITHOUT_GPU();
  std::mt19937 rng(8);
  const std::vector<AttentionCase> cases = {
      {{{0, 1}}, 4, 4, 16, 16},                         // first token alone
      {{{0, 7}, {3, 1}}, 4, 2, 24, 16},                  // Qwen3 fixture's head_dim, GQA 2
      {{{0, 300}}, 8, 1, 64, 16},                        // a prompt over several tiles, MQA
      {{{200, 50}, {130, 1}, {5, 1}}, 32, 8, 128, 16},   // chunked prefill beside decodes
      {{{1000, 1}, {0, 2}}, 16, 2, 128, 32},             // a long decode context
  };
  for (const AttentionCase& c : cases) CheckAttention(c, rng);
}

TEST(WriteKvTest, StoresAtSlotsAndSkipsPadding) {
  SKIP_WITHOUT_GPU();
  const int32_t kv = 6;
  std::vector<float> k = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, v(12, 0.5f);
  const std::vector<int32_t> slots = {3, -1};
  DeviceBuffer d_k = ToDevice(k), d_v = ToDevice(v), d_s = ToDevice(slots);
  DeviceBuffer k_cache = ToDevice(std::vector<uint16_t>(5 * kv)), v_cache = ToDevice(std::vector<uint16_t>(5 * kv));
  ASSERT_TRUE(WriteKv({Ptr<float>(d_k), Ptr<float>(d_v), Ptr<int32_t>(d_s), 2, kv, MutPtr<__nv_bfloat16>(k_cache),
                       MutPtr<__nv_bfloat16>(v_cache)},
                      nullptr)
                  .ok());
  const std::vector<uint16_t> got = FromDevice<uint16_t>(k_cache, 5 * kv);
  for (int i = 0; i < 5 * kv; ++i) EXPECT_EQ(BF16ToFloat(got[i]), i / kv == 3 ? k[i % kv] : 0.f) << i;
}

// ---- MoE output, router ---------------------------------------------------

TEST(MoeCombineTest, UnpermuteWeightsAndSumsAndTheSharedExpertIsGated) {
  SKIP_WITHOUT_GPU();
  std::mt19937 rng(9);
  const int32_t T = 5, k = 2, H = 70;
  std::vector<float> y = Random(T * k * H, rng), w = Random(T * k, rng), x = Random(T * H, rng),
                     gate = Random(H, rng), shared = Random(T * H, rng);
  std::vector<int32_t> assignment = {9, 0, 1, 8, 2, 7, 3, 6, -1, -1};  // the last token is padding
  DeviceBuffer d_y = ToDevice(y), d_w = ToDevice(w), d_a = ToDevice(assignment), d_x = ToDevice(x),
               d_g = ToDevice(gate), d_s = ToDevice(shared), d_out = ToDevice(std::vector<float>(T * H));
  ASSERT_TRUE(Unpermute({Ptr<float>(d_y), Ptr<int32_t>(d_a), Ptr<float>(d_w), T, k, H, MutPtr<float>(d_out)}, nullptr).ok());
  ASSERT_TRUE(AddGatedSharedExpert({Ptr<float>(d_x), Ptr<float>(d_g), Ptr<float>(d_s), T, H, MutPtr<float>(d_out)}, nullptr).ok());
  const std::vector<float> got = FromDevice<float>(d_out, T * H);
  for (int32_t t = 0; t < T; ++t) {
    double g = 0;
    for (int32_t i = 0; i < H; ++i) g += double(x[t * H + i]) * gate[i];
    g = 1 / (1 + std::exp(-g));
    for (int32_t i = 0; i < H; ++i) {
      double want = g * shared[t * H + i];
      for (int32_t j = 0; j < k; ++j) {
        const int32_t row = assignment[t * k + j];
        if (row >= 0) want += double(w[t * k + j]) * y[row * H + i];
      }
      ASSERT_NEAR(got[t * H + i], want, 1e-5) << t << " " << i;
    }
  }
}

TEST(RouterTest, LogitsInFloat32) {
  SKIP_WITHOUT_GPU();
  std::mt19937 rng(10);
  const int32_t T = 33, E = 60, H = 200;
  std::vector<float> x = Random(T * H, rng), r = Random(E * H, rng);
  DeviceBuffer d_x = ToDevice(x), d_r = ToDevice(r), d_out = ToDevice(std::vector<float>(T * E));
  ASSERT_TRUE(RouterLogits({Ptr<float>(d_x), Ptr<float>(d_r), T, E, H, MutPtr<float>(d_out)}, nullptr).ok());
  const std::vector<float> got = FromDevice<float>(d_out, T * E);
  for (int32_t t = 0; t < T; ++t) {
    for (int32_t e = 0; e < E; ++e) {
      double s = 0;
      for (int32_t i = 0; i < H; ++i) s += double(x[t * H + i]) * r[e * H + i];
      ASSERT_NEAR(got[t * E + e], s, 1e-4);
    }
  }
}

}  // namespace
}  // namespace switchyard::engine::cuda
