// The engine loop on the Mixtral fixture: stop conditions, cancellation,
// deadlines, seeded sampling, admission errors and the expert counts.
#include "scheduler/engine_loop.h"

#include <gtest/gtest.h>

#include <map>

#include "scheduler/generate_alone.h"
#include "engine/model_loader.h"
#include "engine/backend_registry.h"
#include "tests/engine/forwarding_backend.h"

namespace switchyard::scheduler {
namespace {

const std::vector<int32_t> kPrompt = {1, 415, 293, 7, 99, 12, 300, 42};

// The real backend with another eos token: greedy decoding of the fixture
// reaches none of its own.
class EosOverride : public engine::Backend {
 public:
  EosOverride(engine::Backend& inner, int32_t eos) : inner_(inner), config_(inner.config()) {
    config_.eos_token_ids = {eos};
  }
  std::string_view name() const override { return inner_.name(); }
  absl::Status Load(std::unique_ptr<engine::ModelWeights> w, const engine::KvCacheConfig& kv) override {
    return inner_.Load(std::move(w), kv);
  }
  absl::StatusOr<engine::ForwardResult> Forward(const engine::Batch& batch) override { return inner_.Forward(batch); }
  const engine::ModelConfig& config() const override { return config_; }
  int32_t num_kv_blocks() const override { return inner_.num_kv_blocks(); }
  int32_t kv_block_size() const override { return inner_.kv_block_size(); }
  int64_t kv_block_bytes() const override { return inner_.kv_block_bytes(); }
  engine::StepCapacity step_capacity() const override { return inner_.step_capacity(); }
  engine::MemoryReport memory() const override { return inner_.memory(); }

 private:
  engine::Backend& inner_;
  engine::ModelConfig config_;
};

struct Collected {
  std::vector<int32_t> tokens;
  std::vector<FinishReason> finishes;  // must end up with exactly one
};

class EngineLoopTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto weights = engine::LoadModel({std::string(SWITCHYARD_SOURCE_DIR) + "/tests/fixtures/mixtral"});
    ASSERT_TRUE(weights.ok()) << weights.status();
    backend_ = std::move(*engine::CreateBackend("cpu", {512, 64}));
    engine::KvCacheConfig kv;
    kv.num_blocks = 16;  // 256 positions: less than the context length (512)
    ASSERT_TRUE(backend_->Load(std::move(*weights), kv).ok());
    auto loop = EngineLoop::Create(*backend_, SchedulerConfig{}, [this] { return now_; });
    ASSERT_TRUE(loop.ok()) << loop.status();
    loop_ = std::move(*loop);
  }

  EngineRequest Request(RequestId id, engine::SamplingParams params) {
    EngineRequest r;
    r.id = id;
    r.prompt_ids = kPrompt;
    r.sampling = std::move(params);
    r.on_output = [this, id](const RequestOutput& out) {
      ASSERT_EQ(out.id, id);
      if (out.token) got_[id].tokens.push_back(out.token->token);
      if (out.finish) got_[id].finishes.push_back(*out.finish);
    };
    return r;
  }

  std::vector<int32_t> Alone(const engine::SamplingParams& params) {
    auto r = GenerateAlone(*backend_, kPrompt, params);
    EXPECT_TRUE(r.ok()) << r.status();
    std::vector<int32_t> ids;
    for (const auto& s : r->tokens) ids.push_back(s.token);
    return ids;
  }

  absl::Time now_ = absl::UnixEpoch();
  std::unique_ptr<engine::Backend> backend_;
  std::unique_ptr<EngineLoop> loop_;
  std::map<RequestId, Collected> got_;
};

engine::SamplingParams Greedy(int32_t max_tokens) {
  engine::SamplingParams p;
  p.temperature = 0;
  p.max_tokens = max_tokens;
  p.ignore_eos = true;
  return p;
}

TEST_F(EngineLoopTest, StopConditionsEndBatchedRequestsAsTheyEndAlone) {
  const std::vector<int32_t> reference = Alone(Greedy(12));
  engine::SamplingParams stop_id = Greedy(12);
  stop_id.stop_token_ids = {reference[4]};
  engine::SamplingParams eos = Greedy(12);
  eos.ignore_eos = false;
  ASSERT_TRUE(loop_->Submit(Request(1, Greedy(12))).ok());
  ASSERT_TRUE(loop_->Submit(Request(2, stop_id)).ok());
  EngineRequest with_hook = Request(3, Greedy(12));
  // A stand-in for a detokenizing stop-string matcher: "the text ends with
  // the third reference token".
  with_hook.stop_strings = [&](absl::Span<const int32_t> generated) { return generated.back() == reference[2]; };
  ASSERT_TRUE(loop_->Submit(std::move(with_hook)).ok());
  ASSERT_TRUE(loop_->RunUntilIdle().ok());

  EXPECT_EQ(got_[1].tokens, reference);
  EXPECT_EQ(got_[1].finishes, std::vector<FinishReason>{FinishReason::kLength});
  const auto first_stop = std::find(reference.begin(), reference.end(), reference[4]);
  EXPECT_EQ(got_[2].tokens, std::vector<int32_t>(reference.begin(), first_stop + 1));
  EXPECT_EQ(got_[2].finishes, std::vector<FinishReason>{FinishReason::kStopToken});
  const auto first_hook = std::find(reference.begin(), reference.end(), reference[2]);
  EXPECT_EQ(got_[3].tokens, std::vector<int32_t>(reference.begin(), first_hook + 1));
  EXPECT_EQ(got_[3].finishes, std::vector<FinishReason>{FinishReason::kStopString});
  EXPECT_EQ(loop_->scheduler().stats().num_free_blocks, backend_->num_kv_blocks());
}

// A scheduler budget beyond what the backend runs in one step is refused at
// start, naming both numbers, instead of failing steps later.
TEST_F(EngineLoopTest, ABudgetBeyondTheBackendsStepCapacityIsRefused) {
  class SmallSteps : public engine::test::ForwardingBackend {
   public:
    using ForwardingBackend::ForwardingBackend;
    engine::StepCapacity step_capacity() const override { return {64, 4}; }
  } small(*backend_);
  SchedulerConfig config;
  config.max_num_batched_tokens = 65;
  config.max_num_seqs = 4;
  auto loop = EngineLoop::Create(small, config);
  ASSERT_EQ(loop.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(loop.status().message(), "max_num_batched_tokens is 65 but the cpu backend runs at most 64 tokens in one step");
  config.max_num_batched_tokens = 64;
  config.max_num_seqs = 5;
  loop = EngineLoop::Create(small, config);
  ASSERT_EQ(loop.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(loop.status().message(), "max_num_seqs is 5 but the cpu backend runs at most 4 sequences in one step");
  config.max_num_seqs = 4;
  EXPECT_TRUE(EngineLoop::Create(small, config).ok());
  // Alone, a prompt longer than one step is prefilled in chunks.
  std::vector<int32_t> long_prompt;
  for (int i = 0; i < 100; ++i) long_prompt.push_back(kPrompt[i % kPrompt.size()]);
  auto chunked = GenerateAlone(small, long_prompt, Greedy(3));
  auto whole = GenerateAlone(*backend_, long_prompt, Greedy(3));
  ASSERT_TRUE(chunked.ok()) << chunked.status();
  ASSERT_TRUE(whole.ok()) << whole.status();
  ASSERT_EQ(chunked->tokens.size(), 3u);
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ(chunked->tokens[i].token, whole->tokens[i].token);
}

TEST_F(EngineLoopTest, EosEndsARequestUnlessIgnored) {
  const int32_t first = Alone(Greedy(1))[0];
  EosOverride backend(*backend_, first);
  loop_ = std::move(*EngineLoop::Create(backend, SchedulerConfig{}));
  engine::SamplingParams stop_at_eos = Greedy(5);
  stop_at_eos.ignore_eos = false;
  ASSERT_TRUE(loop_->Submit(Request(1, stop_at_eos)).ok());
  ASSERT_TRUE(loop_->Submit(Request(2, Greedy(5))).ok());
  ASSERT_TRUE(loop_->RunUntilIdle().ok());
  EXPECT_EQ(got_[1].tokens, std::vector<int32_t>{first});
  EXPECT_EQ(got_[1].finishes, std::vector<FinishReason>{FinishReason::kEos});
  EXPECT_EQ(got_[2].tokens.size(), 5u);
  EXPECT_EQ(got_[2].finishes, std::vector<FinishReason>{FinishReason::kLength});
}

TEST_F(EngineLoopTest, CancelAndDeadlineEndRequestsAtTheNextStep) {
  ASSERT_TRUE(loop_->Submit(Request(1, Greedy(20))).ok());
  EngineRequest timed = Request(2, Greedy(20));
  timed.deadline = now_ + absl::Seconds(3);
  ASSERT_TRUE(loop_->Submit(std::move(timed)).ok());
  ASSERT_TRUE(loop_->Submit(Request(3, Greedy(20))).ok());
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(loop_->Step().ok());
  ASSERT_TRUE(loop_->Cancel(1).ok());
  now_ += absl::Seconds(5);
  ASSERT_TRUE(loop_->Step().ok());
  EXPECT_EQ(got_[1].tokens.size(), 3u);
  EXPECT_EQ(got_[1].finishes, std::vector<FinishReason>{FinishReason::kCancelled});
  EXPECT_EQ(got_[2].tokens.size(), 3u);
  EXPECT_EQ(got_[2].finishes, std::vector<FinishReason>{FinishReason::kDeadlineExceeded});
  EXPECT_EQ(got_[3].tokens.size(), 4u);
  EXPECT_EQ(loop_->Cancel(1).code(), absl::StatusCode::kNotFound);
  ASSERT_TRUE(loop_->RunUntilIdle().ok());
  EXPECT_EQ(got_[3].tokens, Alone(Greedy(20)));
  EXPECT_EQ(loop_->scheduler().stats().num_free_blocks, backend_->num_kv_blocks());
}

// Each request keeps its own sampler: a seeded request draws the same tokens
// alone and beside others.
TEST_F(EngineLoopTest, SeededSamplingIsBatchInvariant) {
  engine::SamplingParams p;
  p.temperature = 0.9f;
  p.top_p = 0.95f;
  p.max_tokens = 16;
  p.ignore_eos = true;
  p.logprobs = 2;
  for (RequestId id = 0; id < 4; ++id) {
    p.seed = 100 + id;
    ASSERT_TRUE(loop_->Submit(Request(id, p)).ok());
  }
  ASSERT_TRUE(loop_->RunUntilIdle().ok());
  for (RequestId id = 0; id < 4; ++id) {
    p.seed = 100 + id;
    EXPECT_EQ(got_[id].tokens, Alone(p)) << id;
  }
}

TEST_F(EngineLoopTest, CountsTokensPerExpert) {
  ASSERT_TRUE(loop_->Submit(Request(1, Greedy(4))).ok());
  ASSERT_TRUE(loop_->Step().ok());  // the prompt
  const engine::ModelConfig& c = backend_->config();
  int64_t step_total = 0;
  for (int32_t n : loop_->last_step_expert_tokens()) step_total += n;
  EXPECT_EQ(step_total, static_cast<int64_t>(kPrompt.size()) * c.top_k * c.num_moe_layers());
  ASSERT_TRUE(loop_->RunUntilIdle().ok());
  int64_t total = 0;
  for (int64_t n : loop_->total_expert_tokens()) total += n;
  // The prompt, then the 3 generated tokens that were fed back.
  EXPECT_EQ(total, static_cast<int64_t>(kPrompt.size() + 3) * c.top_k * c.num_moe_layers());
  EXPECT_EQ(loop_->num_generated_tokens(), 4);
  EXPECT_EQ(loop_->num_steps(), 4);
}

TEST_F(EngineLoopTest, SubmitRefusesBadRequests) {
  engine::SamplingParams bad = Greedy(4);
  bad.top_p = 0;
  EXPECT_EQ(loop_->Submit(Request(1, bad)).code(), absl::StatusCode::kInvalidArgument);
  EngineRequest oov = Request(2, Greedy(4));
  oov.prompt_ids.push_back(backend_->config().vocab_size);
  const absl::Status st = loop_->Submit(std::move(oov));
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("outside the vocabulary"), std::string::npos) << st;
  EXPECT_EQ(loop_->Submit(Request(3, Greedy(300))).code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(loop_->Submit(Request(4, Greedy(510))).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(loop_->idle());
}

}  // namespace
}  // namespace switchyard::scheduler
