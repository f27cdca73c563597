// Batch invariance on every fixture model with the CPU backend: under greedy
// sampling, requests run together through the engine loop (with prompts
// chunked by a small token budget, and with a KV cache so small that
// sequences get preempted and recomputed) produce exactly the tokens each
// produces alone, which are also the transformers reference tokens; and a
// prompt whose prefix comes from the prefix cache gets the tokens and
// logprobs it gets when the prefix is computed.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>

#include "absl/strings/str_cat.h"

#include "engine/backend.h"
#include "engine/backend_registry.h"
#include "scheduler/generate_alone.h"
#include "engine/model_loader.h"
#include "nlohmann/json.hpp"
#include "scheduler/engine_loop.h"

namespace switchyard::scheduler {
namespace {

constexpr int32_t kMaxTokens = 32;

struct Case {
  std::vector<int32_t> prompt;
  std::vector<int32_t> golden;  // empty for the prompts made up here
};

std::string FixtureDir(const std::string& name) {
  return std::string(SWITCHYARD_SOURCE_DIR) + "/tests/fixtures/" + name;
}

std::vector<Case> Cases(const std::string& model) {
  std::ifstream in(FixtureDir(model) + "/golden.json");
  const nlohmann::json j = nlohmann::json::parse(in);
  std::vector<Case> cases;
  for (const auto& p : j["prompts"]) {
    cases.push_back({p["ids"].get<std::vector<int32_t>>(), p["greedy"].get<std::vector<int32_t>>()});
  }
  // A few more: a one-token prompt, a prefix of the longest, and a repeat of
  // a golden prompt (two identical sequences in one batch).
  const std::vector<int32_t>& longest = cases[1].prompt;
  cases.push_back({{longest[3]}, {}});
  cases.push_back({{longest.begin(), longest.begin() + 11}, {}});
  cases.push_back(cases[0]);
  return cases;
}

std::unique_ptr<engine::Backend> LoadBackend(const std::string& model, int32_t block_size, int32_t num_blocks) {
  auto weights = engine::LoadModel({FixtureDir(model)});
  EXPECT_TRUE(weights.ok()) << weights.status();
  auto backend = engine::CreateBackend("cpu", {512, 64});
  EXPECT_TRUE(backend.ok()) << backend.status();
  engine::KvCacheConfig kv;
  kv.block_size = block_size;
  kv.num_blocks = num_blocks;
  const absl::Status st = (*backend)->Load(std::move(*weights), kv);
  EXPECT_TRUE(st.ok()) << st;
  return std::move(*backend);
}

engine::SamplingParams Greedy() {
  engine::SamplingParams p;
  p.temperature = 0;
  p.max_tokens = kMaxTokens;
  p.ignore_eos = true;
  return p;
}

// Runs every case together; returns each one's tokens and the preemptions.
std::vector<std::vector<int32_t>> RunTogether(engine::Backend& backend, const std::vector<Case>& cases,
                                              const SchedulerConfig& config, int64_t* preemptions) {
  auto loop = EngineLoop::Create(backend, config);
  EXPECT_TRUE(loop.ok()) << loop.status();
  std::vector<std::vector<int32_t>> tokens(cases.size());
  for (size_t i = 0; i < cases.size(); ++i) {
    EngineRequest r;
    r.id = static_cast<RequestId>(i);
    r.prompt_ids = cases[i].prompt;
    r.sampling = Greedy();
    r.on_output = [&tokens, i](const RequestOutput& out) {
      if (out.token) tokens[i].push_back(out.token->token);
    };
    const absl::Status st = (*loop)->Submit(std::move(r));
    EXPECT_TRUE(st.ok()) << st;
  }
  const absl::Status st = (*loop)->RunUntilIdle();
  EXPECT_TRUE(st.ok()) << st;
  *preemptions = (*loop)->scheduler().stats().num_preemptions;
  return tokens;
}

class BatchInvarianceTest : public ::testing::TestWithParam<std::string> {};

TEST_P(BatchInvarianceTest, BatchedChunkedAndPreemptedMatchAlone) {
  const std::vector<Case> cases = Cases(GetParam());
  auto backend = LoadBackend(GetParam(), 16, 64);
  std::vector<std::vector<int32_t>> alone;
  for (const Case& c : cases) {
    auto r = GenerateAlone(*backend, c.prompt, Greedy());
    ASSERT_TRUE(r.ok()) << r.status();
    alone.emplace_back();
    for (const engine::SampleResult& s : r->tokens) alone.back().push_back(s.token);
    if (!c.golden.empty()) {
      ASSERT_EQ(alone.back(), c.golden);
    }
  }

  // Chunked prefill: 16 tokens a step for 6 sequences, so the long prompts
  // take several steps while the short ones decode.
  SchedulerConfig chunked;
  chunked.max_num_batched_tokens = 16;
  chunked.max_num_seqs = 8;
  int64_t preemptions = 0;
  EXPECT_EQ(RunTogether(*backend, cases, chunked, &preemptions), alone) << "chunked prefill";
  EXPECT_EQ(preemptions, 0);

  // Preemption: blocks of 4 tokens and just enough of them for the longest
  // request alone, so that sequences keep evicting each other.
  int32_t longest = 0;
  for (const Case& c : cases) longest = std::max<int32_t>(longest, c.prompt.size() + kMaxTokens);
  auto tiny = LoadBackend(GetParam(), 4, (longest + 3) / 4 + 2);
  SchedulerConfig wide;
  wide.max_num_batched_tokens = 64;
  wide.max_num_seqs = 8;
  EXPECT_EQ(RunTogether(*tiny, cases, wide, &preemptions), alone) << "preemption";
  EXPECT_GT(preemptions, 0);
}

struct Generated {
  std::vector<int32_t> tokens;
  std::vector<float> logprobs;
};

// Each prompt alone, one after another, through one loop (so later prompts
// can find earlier ones' blocks in the prefix cache).
std::vector<Generated> RunInTurn(EngineLoop& loop, const std::vector<std::vector<int32_t>>& prompts,
                                 RequestId first_id) {
  std::vector<Generated> out(prompts.size());
  for (size_t i = 0; i < prompts.size(); ++i) {
    EngineRequest r;
    r.id = first_id + static_cast<RequestId>(i);
    r.prompt_ids = prompts[i];
    r.sampling = Greedy();
    r.sampling.logprobs = 2;
    r.on_output = [&out, i](const RequestOutput& o) {
      if (!o.token) return;
      out[i].tokens.push_back(o.token->token);
      out[i].logprobs.push_back(o.token->logprob);
      for (const engine::TokenLogprob& t : o.token->top) out[i].logprobs.push_back(t.logprob);
    };
    EXPECT_TRUE(loop.Submit(std::move(r)).ok());
    EXPECT_TRUE(loop.RunUntilIdle().ok());
  }
  return out;
}

TEST_P(BatchInvarianceTest, ACachedPrefixGivesTheTokensAndLogprobsOfAComputedOne) {
  const std::vector<Case> cases = Cases(GetParam());
  std::vector<std::vector<int32_t>> prompts;
  for (const Case& c : cases) prompts.push_back(c.prompt);
  // Prompts that extend others: their prefixes are cached the second time.
  for (size_t i = 0; i < 2; ++i) {
    std::vector<int32_t> longer = cases[i].prompt;
    longer.insert(longer.end(), cases[1].prompt.begin(), cases[1].prompt.begin() + 5);
    prompts.push_back(longer);
  }
  auto backend = LoadBackend(GetParam(), 4, 256);
  SchedulerConfig off;
  off.enable_prefix_caching = false;
  const std::vector<Generated> computed = RunInTurn(**EngineLoop::Create(*backend, off), prompts, 0);

  auto loop = *EngineLoop::Create(*backend, SchedulerConfig{});
  RunInTurn(*loop, prompts, 0);  // fills the cache
  const int64_t hits_before = loop->scheduler().stats().prefix_cache_hits;
  const std::vector<Generated> cached = RunInTurn(*loop, prompts, 1000);
  EXPECT_GT(loop->scheduler().stats().prefix_cache_hits - hits_before, 0);
  for (size_t i = 0; i < prompts.size(); ++i) {
    SCOPED_TRACE(absl::StrCat("prompt ", i));
    EXPECT_EQ(cached[i].tokens, computed[i].tokens);
    ASSERT_EQ(cached[i].logprobs.size(), computed[i].logprobs.size());
    for (size_t j = 0; j < computed[i].logprobs.size(); ++j) {
      EXPECT_NEAR(cached[i].logprobs[j], computed[i].logprobs[j], 1e-5 + 1e-5 * std::abs(computed[i].logprobs[j]));
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, BatchInvarianceTest, ::testing::Values("mixtral", "qwen3_moe", "olmoe", "qwen2_moe"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace switchyard::scheduler
