// Device sampling (engine/cuda/sampling.h) against the CPU sampler
// (engine/cpu/sampler.h), on random rows: greedy tokens, logprobs and top
// logprobs as the CPU's, penalties included; non-finite rows reported;
// temperature, top-k, top-p and min-p draw from the CPU's distribution
// (every count within 4 standard errors); a seed reproduces its tokens.
// Runs on a GPU, and in CI on the CUDA emulator.
#include "engine/cuda/sampling.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>

#include "engine/cpu/sampler.h"
#include "engine/cuda/sampling_inputs.h"
#include "engine/rng.h"
#include "tests/engine/cuda/gpu_test_util.h"

namespace switchyard::engine::cuda {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

// `rows` copies of `logits` (or R different rows), each sampled with its
// RowSampling, through PackSampling and SampleRows as the backend runs them.
std::vector<DeviceSample> SampleOnDevice(const std::vector<float>& logits, int32_t vocab,
                                         const std::vector<RowSampling>& rows) {
  Batch batch;
  const std::vector<int32_t> blocks = {0};
  for (const RowSampling& r : rows) {
    batch.token_ids.push_back(0);
    batch.sequences.push_back({1, 0, blocks, LogitsMode::kSample, r});
  }
  const SamplingInputs in = PackSampling(batch);
  std::vector<TokenCount> seen = in.seen;
  if (seen.empty()) seen.push_back({0, 0});  // a buffer to point at
  DeviceBuffer d_logits = ToDevice(logits), d_rows = ToDevice(in.rows), d_seen = ToDevice(seen);
  DeviceBuffer d_raw = ToDevice(std::vector<float>(seen.size()));
  DeviceBuffer d_out = ToDevice(std::vector<DeviceSample>(rows.size()));
  SampleRowsParams p;
  p.logits = MutPtr<float>(d_logits);
  p.vocab = vocab;
  p.rows = Ptr<DeviceRowSampling>(d_rows);
  p.num_rows = static_cast<int32_t>(rows.size());
  p.seen = Ptr<TokenCount>(d_seen);
  p.seen_raw = MutPtr<float>(d_raw);
  p.out = MutPtr<DeviceSample>(d_out);
  EXPECT_TRUE(SampleRows(p, nullptr).ok());
  return FromDevice<DeviceSample>(d_out, rows.size());
}

TEST(DeviceSamplingTest, GreedyTokensAndLogprobsAreTheCpus) {
  SKIP_WITHOUT_GPU();
  std::mt19937 rng(5);
  const int32_t V = 1000, R = 6;
  std::vector<float> logits = Random(size_t{R} * V, rng, 4.f);
  logits[1 * V + 10] = logits[1 * V + 900] = 9.f;  // a tie: the lower id
  std::fill(logits.begin() + 2 * V, logits.begin() + 3 * V, -kInf);  // nothing possible: id 0
  std::vector<SamplingParams> params(R);
  for (SamplingParams& p : params) {
    p.temperature = 0;
    p.logprobs = 5;
  }
  params[3].repetition_penalty = 1.7f;
  params[4].presence_penalty = 1.5f;
  params[4].frequency_penalty = 0.5f;
  params[5].logprobs = 0;
  // Penalise the CPU's greedy pick, so that the penalties must change it.
  std::vector<std::vector<TokenCount>> seen(R);
  for (int r = 3; r <= 4; ++r) {
    const int32_t best = cpu::SampleRow({&logits[r * V], size_t{V}}, {&params[r], 0, {}}).token;
    seen[r] = {{best, 2}, {7, 0}, {best == 8 ? 9 : 8, 1}};
  }
  std::vector<RowSampling> rows;
  for (int r = 0; r < R; ++r) rows.push_back({&params[r], 0, seen[r]});
  const std::vector<DeviceSample> got = SampleOnDevice(logits, V, rows);
  for (int r = 0; r < R; ++r) {
    const SampleResult want = cpu::SampleRow({&logits[r * V], size_t{V}}, rows[r]);
    EXPECT_EQ(got[r].non_finite_token, -1) << r;
    EXPECT_EQ(got[r].token, want.token) << "row " << r;
    if (std::isinf(want.logprob)) {
      EXPECT_EQ(got[r].logprob, want.logprob) << r;
    } else {
      EXPECT_NEAR(got[r].logprob, want.logprob, 1e-4 + 1e-5 * std::abs(want.logprob)) << r;
    }
    ASSERT_EQ(got[r].num_top, static_cast<int32_t>(want.top.size())) << r;
    for (size_t i = 0; i < want.top.size(); ++i) {
      EXPECT_EQ(got[r].top_tokens[i], want.top[i].token) << r << " " << i;
      if (!std::isinf(want.top[i].logprob)) {
        EXPECT_NEAR(got[r].top_logprobs[i], want.top[i].logprob, 1e-4 + 1e-5 * std::abs(want.top[i].logprob));
      }
    }
  }
  EXPECT_EQ(got[1].token, 10);
  EXPECT_EQ(got[2].token, 0);
}

TEST(DeviceSamplingTest, ANonFiniteLogitIsReportedNotSampled) {
  SKIP_WITHOUT_GPU();
  const int32_t V = 300;
  std::vector<float> logits(3 * V, 0.f);
  logits[0 * V + 250] = kInf;
  logits[0 * V + 260] = std::numeric_limits<float>::quiet_NaN();
  logits[1 * V + 40] = std::numeric_limits<float>::quiet_NaN();
  logits[2 * V + 5] = -kInf;  // a valid logit
  SamplingParams p;
  p.temperature = 0;
  const std::vector<DeviceSample> got = SampleOnDevice(logits, V, {{&p, 0, {}}, {&p, 0, {}}, {&p, 0, {}}});
  EXPECT_EQ(got[0].non_finite_token, 250);
  EXPECT_EQ(got[0].non_finite_value, kInf);
  EXPECT_EQ(got[1].non_finite_token, 40);
  EXPECT_TRUE(std::isnan(got[1].non_finite_value));
  EXPECT_EQ(got[2].non_finite_token, -1);
}

// The distribution a draw follows, from the CPU sampler's own rules: every
// token's share of 20,000 seeded CPU draws, compared with the device's
// counts over 1,000 rows of one launch, each its own position in a stream
// (few, because the emulator runs each row's 32 threads as fibers: ~8 s per
// thousand rows). A token the CPU never draws must never be drawn.
void ExpectSameDistribution(const std::vector<float>& logits, const SamplingParams& params) {
  const int32_t V = static_cast<int32_t>(logits.size());
  constexpr int kDraws = 1000;
  std::vector<RowSampling> rows;
  std::vector<int> cpu_counts(V), device_counts(V);
  for (int i = 0; i < kDraws; ++i) rows.push_back({&params, SplitMix64::Advance(99, i), {}});
  std::vector<float> all;
  for (int i = 0; i < kDraws; ++i) all.insert(all.end(), logits.begin(), logits.end());
  for (const DeviceSample& s : SampleOnDevice(all, V, rows)) ++device_counts[s.token];
  constexpr int kCpuDraws = 20000;
  for (int i = 0; i < kCpuDraws; ++i) {
    ++cpu_counts[cpu::SampleRow(logits, {&params, SplitMix64::Advance(7, i), {}}).token];
  }
  for (int32_t t = 0; t < V; ++t) {
    const double p = static_cast<double>(cpu_counts[t]) / kCpuDraws;
    if (cpu_counts[t] == 0) {
      EXPECT_EQ(device_counts[t], 0) << "token " << t << " is cut on the CPU";
      continue;
    }
    const double sigma = std::sqrt(kDraws * p * (1 - p) + kDraws * kDraws * p * (1 - p) / kCpuDraws);
    EXPECT_NEAR(device_counts[t], kDraws * p, 4 * sigma + 1) << "token " << t;
  }
}

TEST(DeviceSamplingTest, TemperatureTopKTopPAndMinPDrawFromTheCpusDistribution) {
  SKIP_WITHOUT_GPU();
  const std::vector<float> logits = {2.0f, 1.5f, 0.3f, -1.0f, 1.0f, 0.9f, -kInf, 0.0f, 1.2f, -0.5f};
  SamplingParams p;
  p.temperature = 0.7f;
  p.top_k = 4;
  ExpectSameDistribution(logits, p);
  p.top_k = 0;
  p.top_p = 0.6f;
  ExpectSameDistribution(logits, p);
  p.top_k = 5;
  p.top_p = 0.8f;
  p.min_p = 0.6f;  // cuts the third and fourth of the four top-p keeps
  p.temperature = 1.3f;
  ExpectSameDistribution(logits, p);
}

TEST(DeviceSamplingTest, ASeedReproducesItsTokens) {
  SKIP_WITHOUT_GPU();
  std::mt19937 rng(3);
  const int32_t V = 500, R = 16;
  const std::vector<float> row = Random(V, rng, 2.f);
  std::vector<float> logits;
  for (int r = 0; r < R; ++r) logits.insert(logits.end(), row.begin(), row.end());
  SamplingParams p;
  p.temperature = 1.0f;
  std::vector<RowSampling> same(R, {&p, 1234, {}}), stream;
  for (int r = 0; r < R; ++r) stream.push_back({&p, SplitMix64::Advance(1234, r), {}});
  const std::vector<DeviceSample> a = SampleOnDevice(logits, V, same), b = SampleOnDevice(logits, V, stream);
  for (int r = 0; r < R; ++r) EXPECT_EQ(a[r].token, a[0].token) << r;  // one position: one token
  EXPECT_EQ(b[0].token, a[0].token);
  const std::vector<DeviceSample> again = SampleOnDevice(logits, V, stream);
  int differ = 0;
  for (int r = 0; r < R; ++r) {
    EXPECT_EQ(again[r].token, b[r].token) << r;
    differ += b[r].token != b[0].token;
  }
  EXPECT_GT(differ, 0);  // the positions of a stream draw differently
}

}  // namespace
}  // namespace switchyard::engine::cuda
