// Sampling behind the CPU backend: a kSample row returns what the CPU sampler
// picks from the same row's logits (which a kLast row of the same batch
// returns), routing only when asked, and a row of logits with a NaN reported
// instead of sampled.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "engine/cpu/cpu_backend.h"
#include "engine/cpu/sampler.h"
#include "engine/dtype.h"
#include "engine/model_loader.h"
#include "engine/sampling_state.h"

namespace switchyard::engine {
namespace {

const std::string kMixtral = std::string(SWITCHYARD_SOURCE_DIR) + "/tests/fixtures/mixtral";
const std::vector<int32_t> kPrompt = {1, 415, 293, 7, 99, 12};

class CpuBackendSamplingTest : public ::testing::Test {
 protected:
  void Load(std::unique_ptr<ModelWeights> weights) {
    KvCacheConfig kv;
    kv.num_blocks = 8;
    ASSERT_TRUE(backend_.Load(std::move(weights), kv).ok());
  }
  // The prompt twice, in separate blocks: once returning its logits, once sampled.
  Batch Twice(const RowSampling& row) const {
    Batch b;
    b.token_ids = kPrompt;
    b.token_ids.insert(b.token_ids.end(), kPrompt.begin(), kPrompt.end());
    const int32_t n = static_cast<int32_t>(kPrompt.size());
    b.sequences.push_back({n, 0, blocks_a_, LogitsMode::kLast});
    b.sequences.push_back({n, 0, blocks_b_, LogitsMode::kSample, row});
    return b;
  }

  CpuBackend backend_;
  const std::vector<int32_t> blocks_a_ = {0}, blocks_b_ = {1};
};

TEST_F(CpuBackendSamplingTest, ASampledRowIsTheSamplersPickFromItsLogits) {
  Load(*LoadModel({kMixtral}));
  for (const float temperature : {0.0f, 0.8f}) {
    SamplingParams p;
    p.temperature = temperature;
    p.seed = 11;
    p.logprobs = 3;
    p.repetition_penalty = 1.3f;
    SamplingState state(p, kPrompt);
    state.Accept(7);  // a second step's state: one token generated
    absl::StatusOr<ForwardResult> r = backend_.Forward(Twice(state.Row()));
    ASSERT_TRUE(r.ok()) << r.status();
    ASSERT_EQ(r->samples.size(), 1u);
    ASSERT_EQ(r->logits.size(), static_cast<size_t>(r->vocab_size));  // only the kLast row comes back
    const SampleResult want = cpu::SampleRow(r->logits, state.Row());
    const SampledRow& got = r->samples[0];
    EXPECT_FALSE(got.non_finite.has_value());
    EXPECT_EQ(got.sample.token, want.token) << temperature;
    EXPECT_EQ(got.sample.logprob, want.logprob);
    ASSERT_EQ(got.sample.top.size(), 3u);
    for (size_t i = 0; i < 3; ++i) EXPECT_EQ(got.sample.top[i].token, want.top[i].token);
    EXPECT_TRUE(r->routed_experts.empty());  // not asked for
  }
}

TEST_F(CpuBackendSamplingTest, RoutingComesBackOnlyWhenAsked) {
  Load(*LoadModel({kMixtral}));
  SamplingParams p;
  p.temperature = 0;
  SamplingState state(p, {});
  Batch batch = Twice(state.Row());
  batch.return_routing = true;
  absl::StatusOr<ForwardResult> r = backend_.Forward(batch);
  ASSERT_TRUE(r.ok()) << r.status();
  const ModelConfig& c = backend_.config();
  ASSERT_EQ(r->routed_experts.size(), size_t{2} * c.num_layers * c.top_k);  // both rows
  // The same prompt in both rows: the same experts.
  const size_t per_row = static_cast<size_t>(c.num_layers) * c.top_k;
  EXPECT_TRUE(std::equal(r->routed_experts.begin(), r->routed_experts.begin() + per_row,
                         r->routed_experts.begin() + per_row));
}

TEST_F(CpuBackendSamplingTest, ANonFiniteLogitIsReportedNotSampled) {
  std::unique_ptr<ModelWeights> weights = *LoadModel({kMixtral});
  HostTensor& head = weights->lm_head_own.empty() ? weights->embed : weights->lm_head_own;
  const int64_t H = weights->config.hidden_size;
  // Logit 17 of every row becomes NaN.
  if (head.dtype() == DType::kF32) {
    head.f32()[17 * H] = std::numeric_limits<float>::quiet_NaN();
  } else {
    ASSERT_EQ(head.dtype(), DType::kBF16);
    static_cast<uint16_t*>(head.data())[17 * H] = 0x7fc0;  // a bfloat16 NaN
  }
  Load(std::move(weights));
  SamplingParams p;
  p.temperature = 0;
  SamplingState state(p, {});
  absl::StatusOr<ForwardResult> r = backend_.Forward(Twice(state.Row()));
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_TRUE(r->samples[0].non_finite.has_value());
  EXPECT_EQ(r->samples[0].non_finite->token, 17);
  EXPECT_TRUE(std::isnan(r->samples[0].non_finite->value));
}

TEST_F(CpuBackendSamplingTest, ASampledRowWithoutParametersOrWithAForeignTokenIsRefused) {
  Load(*LoadModel({kMixtral}));
  EXPECT_EQ(backend_.Forward(Twice({})).status().code(), absl::StatusCode::kInvalidArgument);
  SamplingParams p;
  const std::vector<TokenCount> foreign = {{backend_.config().vocab_size, 1}};
  const absl::Status st = backend_.Forward(Twice({&p, 0, foreign})).status();
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("outside the vocabulary"), std::string::npos) << st;
}

}  // namespace
}  // namespace switchyard::engine
