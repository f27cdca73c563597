// The CPU sampler (SampleRow, ApplyPenalties) fed by SamplingState, as the
// CPU backend runs them: distributions, truncations, penalties, logprobs.
#include "engine/cpu/sampler.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <set>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "engine/rng.h"
#include "engine/sampling_state.h"

namespace switchyard::engine::cpu {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr int kDraws = 20000;

// One request's sampling: its SamplingState and SampleRow. Each Sample takes
// the next draw of the request's stream (as a new token would), so that
// repeated draws from one row build a histogram.
class Sampler {
 public:
  Sampler(const SamplingParams& params, std::vector<int32_t> prompt_ids) : state_(params, prompt_ids) {}
  SampleResult Sample(absl::Span<const float> logits) {
    RowSampling row = state_.Row();
    row.rng_state = SplitMix64::Advance(row.rng_state, draws_++);
    return SampleRow(logits, row);
  }
  void Accept(int32_t token) { state_.Accept(token); }
  void ApplyPenalties(absl::Span<float> logits) const { cpu::ApplyPenalties(logits, state_.params(), state_.Row().seen); }

 private:
  SamplingState state_;
  uint64_t draws_ = 0;
};

SamplingParams Seeded(uint64_t seed = 42) {
  SamplingParams p;
  p.seed = seed;
  return p;
}

std::vector<float> LogitsOf(const std::vector<double>& probs) {
  std::vector<float> logits;
  for (double p : probs) logits.push_back(p > 0 ? static_cast<float>(std::log(p)) : -kInf);
  return logits;
}

std::vector<double> Normalized(std::vector<double> w) {
  const double total = std::accumulate(w.begin(), w.end(), 0.0);
  for (double& x : w) x /= total;
  return w;
}

std::vector<int> Histogram(const SamplingParams& params, const std::vector<float>& logits,
                           int draws = kDraws) {
  Sampler sampler(params, {});
  std::vector<int> counts(logits.size());
  for (int i = 0; i < draws; ++i) ++counts[sampler.Sample(logits).token];
  return counts;
}

// Every count within 4 standard errors of its expectation; impossible tokens never.
void ExpectDistribution(const std::vector<int>& counts, const std::vector<double>& probs,
                        int draws = kDraws) {
  ASSERT_EQ(counts.size(), probs.size());
  for (size_t i = 0; i < probs.size(); ++i) {
    if (probs[i] == 0) {
      EXPECT_EQ(counts[i], 0) << "token " << i;
    } else {
      const double sigma = std::sqrt(draws * probs[i] * (1 - probs[i]));
      EXPECT_NEAR(counts[i], draws * probs[i], 4 * sigma) << "token " << i;
    }
  }
}

TEST(SplitMix64Test, MatchesReferenceOutputs) {
  // First outputs of the reference splitmix64.c (Vigna) for seed 0.
  SplitMix64 rng(0);
  EXPECT_EQ(rng.Next(), 0xe220a8397b1dcdafull);
  EXPECT_EQ(rng.Next(), 0x6e789e6aa1b965f4ull);
  EXPECT_EQ(rng.Next(), 0x06c45d188009454full);
  EXPECT_EQ(rng.Next(), 0xf88bb8a8724c81ecull);
}

TEST(SamplerTest, GreedyPicksArgmaxAndLowestIdOnTies) {
  SamplingParams p;
  p.temperature = 0;
  Sampler sampler(p, {});
  EXPECT_EQ(sampler.Sample(std::vector<float>{1, 3, 2, -kInf}).token, 1);
  EXPECT_EQ(sampler.Sample(std::vector<float>{1, 3, 3, 3}).token, 1);
  EXPECT_EQ(sampler.Sample(std::vector<float>{-kInf, -kInf, -5}).token, 2);
}

TEST(SamplerTest, SameSeedSameTokensDifferentSeedDifferentTokens) {
  const std::vector<float> logits(10, 0.0f);
  auto run = [&](const SamplingParams& p) {
    Sampler sampler(p, {});
    std::vector<int32_t> tokens;
    for (int i = 0; i < 100; ++i) tokens.push_back(sampler.Sample(logits).token);
    return tokens;
  };
  EXPECT_EQ(run(Seeded(7)), run(Seeded(7)));
  EXPECT_NE(run(Seeded(7)), run(Seeded(8)));
  EXPECT_NE(run(SamplingParams()), run(SamplingParams()));  // random_device seeds
}

TEST(SamplerTest, DrawsMatchSoftmax) {
  const std::vector<double> probs = {0.1, 0.2, 0.3, 0.4, 0.0};
  ExpectDistribution(Histogram(Seeded(), LogitsOf(probs)), probs);
}

TEST(SamplerTest, TemperatureSharpensAndFlattens) {
  const std::vector<double> probs = {0.1, 0.2, 0.3, 0.4};
  SamplingParams p = Seeded();
  p.temperature = 0.5f;  // p^2, renormalised
  ExpectDistribution(Histogram(p, LogitsOf(probs)), Normalized({0.01, 0.04, 0.09, 0.16}));
  p.temperature = 2.0f;  // sqrt(p), renormalised
  ExpectDistribution(Histogram(p, LogitsOf(probs)),
                     Normalized({std::sqrt(0.1), std::sqrt(0.2), std::sqrt(0.3), std::sqrt(0.4)}));
}

TEST(SamplerTest, TinyTemperatureIsArgmaxWithoutNaN) {
  SamplingParams p = Seeded();
  p.temperature = 1e-30f;
  Sampler sampler(p, {});
  const std::vector<float> logits = {0.5f, 0.50001f, -kInf, 1e30f * -1};
  for (int i = 0; i < 100; ++i) EXPECT_EQ(sampler.Sample(logits).token, 1);
}

TEST(SamplerTest, TopKOnlyReturnsTheKBest) {
  const std::vector<double> probs = {0.05, 0.2, 0.1, 0.3, 0.15, 0.2};
  SamplingParams p = Seeded();
  p.top_k = 3;  // ids 3, 1, 5 (0.2 tie: lower id 1 first, then 5)
  ExpectDistribution(Histogram(p, LogitsOf(probs)), Normalized({0, 0.2, 0, 0.3, 0, 0.2}));
  p.top_k = 2;  // the 0.2 tie is broken towards the lower id
  ExpectDistribution(Histogram(p, LogitsOf(probs)), Normalized({0, 0.2, 0, 0.3, 0, 0}));
  p.top_k = 1000;  // larger than the vocabulary: no truncation
  ExpectDistribution(Histogram(p, LogitsOf(probs)), probs);
}

TEST(SamplerTest, TopPKeepsExactlyTheNucleus) {
  SamplingParams p = Seeded();
  p.top_p = 0.65f;  // 0.4 + 0.3 reaches 0.65
  ExpectDistribution(Histogram(p, LogitsOf({0.4, 0.1, 0.3, 0.2})), Normalized({0.4, 0, 0.3, 0}));
  p.top_p = 1e-6f;  // keeps at least the best token
  ExpectDistribution(Histogram(p, LogitsOf({0.4, 0.1, 0.3, 0.2}), 100), {1, 0, 0, 0}, 100);
}

TEST(SamplerTest, TopPNucleusOfALargerVocabulary) {
  // 400 tokens in scrambled id order with geometrically decreasing probability:
  // the nucleus (about 110 tokens) is a strict part of what the sampler sorts.
  const int vocab = 400;
  std::vector<float> logits(vocab);
  for (int rank = 0; rank < vocab; ++rank) logits[(rank * 37) % vocab] = -0.005f * rank;
  SamplingParams p = Seeded();
  p.top_p = 0.5f;

  std::vector<int> by_rank(vocab);
  std::iota(by_rank.begin(), by_rank.end(), 0);
  std::sort(by_rank.begin(), by_rank.end(), [&](int a, int b) { return logits[a] > logits[b]; });
  double total = 0;
  for (float l : logits) total += std::exp(double{l});
  std::set<int> nucleus;
  for (double cumulative = 0; cumulative < p.top_p * total;) {
    const int id = by_rank[nucleus.size()];
    nucleus.insert(id);
    cumulative += std::exp(double{logits[id]});
  }

  const std::vector<int> counts = Histogram(p, logits, 10000);
  std::set<int> drawn;
  for (int id = 0; id < vocab; ++id) {
    if (counts[id] > 0) drawn.insert(id);
  }
  EXPECT_EQ(drawn, nucleus);
}

TEST(SamplerTest, MinPDropsTokensBelowFractionOfTheBest) {
  SamplingParams p = Seeded();
  p.min_p = 0.15f;  // threshold 0.075
  ExpectDistribution(Histogram(p, LogitsOf({0.5, 0.3, 0.1, 0.06, 0.04})),
                     Normalized({0.5, 0.3, 0.1, 0, 0}));
}

TEST(SamplerTest, TopPSeesTheRenormalisedTopK) {
  // Top-2 renormalised is {0.57, 0.43}: top_p 0.55 keeps only the best. Taken
  // on the untruncated probabilities (0.4 < 0.55) it would keep two.
  SamplingParams p = Seeded();
  p.top_k = 2;
  p.top_p = 0.55f;
  ExpectDistribution(Histogram(p, LogitsOf({0.4, 0.3, 0.2, 0.1}), 200), {1, 0, 0, 0}, 200);
}

TEST(SamplerTest, TopPSeesTheTemperatureScaledDistribution) {
  // At T = 0.5, {0.5, 0.3, 0.2} becomes {0.66, 0.24, 0.11}: top_p 0.6 keeps one.
  SamplingParams p = Seeded();
  p.temperature = 0.5f;
  p.top_p = 0.6f;
  ExpectDistribution(Histogram(p, LogitsOf({0.5, 0.3, 0.2}), 200), {1, 0, 0}, 200);
}

TEST(SamplerTest, DegenerateRows) {
  SamplingParams p = Seeded();
  p.top_p = 1e-6f;
  p.top_k = 50;
  Sampler sampler(p, {});
  const SampleResult one = sampler.Sample(std::vector<float>{-kInf, -kInf, 3, -kInf});
  EXPECT_EQ(one.token, 2);
  EXPECT_FLOAT_EQ(one.logprob, 0);
  // NaN counts as -inf and +inf dominates.
  EXPECT_EQ(sampler.Sample(std::vector<float>{kNaN, 1, kInf, 2}).token, 2);
  const SampleResult none = sampler.Sample(std::vector<float>{-kInf, kNaN, -kInf});
  EXPECT_EQ(none.token, 0);
  EXPECT_EQ(none.logprob, -kInf);
}

TEST(SamplerTest, PenaltiesFollowTheFormulas) {
  SamplingParams p;
  p.repetition_penalty = 2.0f;
  p.presence_penalty = 0.5f;
  p.frequency_penalty = 0.25f;
  Sampler sampler(p, /*prompt_ids=*/{1, 2, 99});  // 99 is outside the row: ignored
  sampler.Accept(2);
  sampler.Accept(3);
  sampler.Accept(3);
  sampler.Accept(5);
  std::vector<float> logits = {1, 2, -2, 4, 5, -1};
  sampler.ApplyPenalties(absl::MakeSpan(logits));
  EXPECT_FLOAT_EQ(logits[0], 1);                        // unseen
  EXPECT_FLOAT_EQ(logits[1], 2 / 2.0f);                 // prompt: repetition only
  EXPECT_FLOAT_EQ(logits[2], -2 * 2.0f - 0.25f - 0.5f);  // prompt + generated once
  EXPECT_FLOAT_EQ(logits[3], 4 / 2.0f - 2 * 0.25f - 0.5f);  // generated twice
  EXPECT_FLOAT_EQ(logits[4], 5);                        // unseen
  EXPECT_FLOAT_EQ(logits[5], -1 * 2.0f - 0.25f - 0.5f);  // generated once, negative
}

TEST(SamplerTest, PresenceAndFrequencyIgnoreThePrompt) {
  SamplingParams p;
  p.presence_penalty = -1.5f;  // negative values encourage repetition
  p.frequency_penalty = 1.0f;
  Sampler sampler(p, /*prompt_ids=*/{0});
  sampler.Accept(1);
  std::vector<float> logits = {1, 1};
  sampler.ApplyPenalties(absl::MakeSpan(logits));
  EXPECT_FLOAT_EQ(logits[0], 1);
  EXPECT_FLOAT_EQ(logits[1], 1 - 1.0f + 1.5f);
}

TEST(SamplerTest, SampleUsesPenalisedLogits) {
  SamplingParams p;
  p.temperature = 0;
  p.repetition_penalty = 1.5f;
  Sampler sampler(p, /*prompt_ids=*/{0});
  EXPECT_EQ(sampler.Sample(std::vector<float>{1.2f, 1.0f}).token, 1);  // 1.2 / 1.5 < 1.0
}

TEST(SamplerTest, PenaltiesComeBeforeTemperature) {
  // Penalised {0, -1} at T = 0.5 is {0, -2}; penalising after temperature would
  // give {0, -1} and p(1) = 0.27 instead of 0.12.
  SamplingParams p = Seeded();
  p.temperature = 0.5f;
  p.presence_penalty = 1.0f;
  Sampler sampler(p, {});
  sampler.Accept(1);
  std::vector<int> counts(2);
  for (int i = 0; i < kDraws; ++i) ++counts[sampler.Sample(std::vector<float>{0, 0}).token];
  ExpectDistribution(counts, Normalized({1, std::exp(-2.0)}));
}

TEST(SamplerTest, LogprobsAreRawLogSoftmax) {
  const std::vector<float> logits = {1, 2, 3, 3, -kInf};
  const double lse = std::log(std::exp(1.0) + std::exp(2.0) + 2 * std::exp(3.0));
  SamplingParams p = Seeded();
  p.temperature = 0.5f;  // neither temperature, truncation nor penalties
  p.top_k = 1;           // change the reported values
  p.repetition_penalty = 1.3f;
  p.logprobs = 3;
  Sampler sampler(p, /*prompt_ids=*/{2});
  const SampleResult r = sampler.Sample(logits);
  EXPECT_EQ(r.token, 3);  // 3 / 1.3 < 3
  EXPECT_FLOAT_EQ(r.logprob, 3 - lse);
  ASSERT_EQ(r.top.size(), 3u);
  EXPECT_EQ(r.top[0].token, 2);  // tie with 3: lower id first
  EXPECT_EQ(r.top[1].token, 3);
  EXPECT_EQ(r.top[2].token, 1);
  EXPECT_FLOAT_EQ(r.top[0].logprob, 3 - lse);
  EXPECT_FLOAT_EQ(r.top[1].logprob, 3 - lse);
  EXPECT_FLOAT_EQ(r.top[2].logprob, 2 - lse);
}

TEST(SamplerTest, LogprobsCoverTheVocabularyAtMost) {
  SamplingParams p = Seeded();
  p.logprobs = 20;
  Sampler sampler(p, {});
  const SampleResult r = sampler.Sample(std::vector<float>{0.5f, -1, 2, -kInf, 0});
  ASSERT_EQ(r.top.size(), 5u);
  double total = 0;
  for (const TokenLogprob& t : r.top) total += std::exp(double{t.logprob});
  EXPECT_NEAR(total, 1.0, 1e-6);
  EXPECT_EQ(r.top.back().token, 3);
  EXPECT_EQ(r.top.back().logprob, -kInf);
  p.logprobs = 0;
  EXPECT_TRUE(Sampler(p, {}).Sample(std::vector<float>{1, 2}).top.empty());
}

TEST(FindNonFiniteLogitTest, NaNAndPlusInfinityAreFoundMinusInfinityIsAValidLogit) {
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  EXPECT_EQ(FindNonFiniteLogit(std::vector<float>{1, -inf, 3}), std::nullopt);
  EXPECT_EQ(FindNonFiniteLogit(std::vector<float>{1, nan, inf})->token, 1);
  EXPECT_EQ(FindNonFiniteLogit(std::vector<float>{1, 2, inf})->token, 2);
  EXPECT_EQ(FindNonFiniteLogit(std::vector<float>{1, 2, inf})->value, inf);
  EXPECT_EQ(FindNonFiniteLogit(std::vector<float>{}), std::nullopt);
}

// The engine hands the backend a position in the request's stream, not a
// generator: the n-th token's draw starts from seed + n * gamma, which is
// where a generator seeded once would be after n draws.
TEST(SamplingStateTest, TheStreamMovesOneDrawPerAcceptedToken) {
  const SamplingState state(Seeded(7), {});
  SplitMix64 reference(7);
  SamplingState moving(Seeded(7), {});
  for (int n = 0; n < 5; ++n) {
    EXPECT_EQ(SplitMix64(moving.Row().rng_state).NextDouble(), reference.NextDouble()) << n;
    moving.Accept(n);
  }
  EXPECT_EQ(state.Row().rng_state, 7u);
}

TEST(SamplingStateTest, SeenTokensOnlyWhenAPenaltyReadsThem) {
  SamplingState plain(Seeded(), {4, 5});
  plain.Accept(4);
  EXPECT_TRUE(plain.Row().seen.empty());

  SamplingParams repetition = Seeded();
  repetition.repetition_penalty = 1.2f;
  SamplingState r(repetition, {4, 5, 4});
  r.Accept(5);
  r.Accept(9);
  r.Accept(5);
  std::vector<std::pair<int32_t, int32_t>> seen;
  for (const TokenCount& t : r.Row().seen) seen.emplace_back(t.token, t.generated);
  EXPECT_EQ(seen, (std::vector<std::pair<int32_t, int32_t>>{{4, 0}, {5, 2}, {9, 1}}));

  SamplingParams presence = Seeded();
  presence.presence_penalty = 0.5f;
  SamplingState p(presence, {4, 5});  // the prompt is not read: no repetition penalty
  p.Accept(5);
  ASSERT_EQ(p.Row().seen.size(), 1u);
  EXPECT_EQ(p.Row().seen[0].token, 5);
  EXPECT_EQ(p.Row().seen[0].generated, 1);
}

}  // namespace
}  // namespace switchyard::engine::cpu
