// The CUDA backend end to end on every fixture model, against the CPU
// backend running the same bf16-rounded weights: logits within 1e-2
// relative error, identical greedy tokens, batch invariance, and decode
// graphs identical to eager steps. Skips without a CUDA device, and on the
// CUDA emulator its known bf16 failures (kBf16Fragile).
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <numeric>
#include <string_view>

#include "engine/cpu/cpu_backend.h"
#include "engine/cuda/cuda_backend.h"
#include "scheduler/generate_alone.h"
#include "engine/model_loader.h"
#include "nlohmann/json.hpp"
#include "engine/cpu/sampler.h"
#include "tests/engine/cuda/gpu_test_util.h"

namespace switchyard::engine::cuda {
namespace {

constexpr double kMaxRelativeError = 1e-2;

std::string FixtureDir(const std::string& name) { return std::string(SWITCHYARD_SOURCE_DIR) + "/tests/fixtures/" + name; }

std::vector<std::vector<int32_t>> Prompts(const std::string& name) {
  std::ifstream in(FixtureDir(name) + "/golden.json");
  // Named: a range-for over a member of the temporary parse() would dangle.
  const nlohmann::json golden = nlohmann::json::parse(in);
  std::vector<std::vector<int32_t>> prompts;
  for (const auto& p : golden["prompts"]) prompts.push_back(p["ids"].get<std::vector<int32_t>>());
  EXPECT_FALSE(prompts.empty()) << name;
  return prompts;
}

// The CPU reference runs the weights the device holds: every matrix rounded
// to bf16 (norms, biases and the router stay float32 on both).
void RoundMatrix(HostTensor& t) {
  if (t.empty() || t.dtype() != DType::kF32) return;
  float* v = t.f32();
  for (int64_t i = 0; i < t.numel(); ++i) v[i] = BF16ToFloat(FloatToBF16(v[i]));
}

std::unique_ptr<ModelWeights> Weights(const std::string& name, bool round_for_cpu) {
  auto w = LoadModel({FixtureDir(name)});
  EXPECT_TRUE(w.ok()) << w.status();
  if (round_for_cpu) {
    ModelWeights& m = **w;
    RoundMatrix(m.embed);
    RoundMatrix(m.lm_head_own);
    for (LayerWeights& l : m.layers) {
      for (HostTensor* t : {&l.q_proj, &l.k_proj, &l.v_proj, &l.o_proj, &l.mlp.gate_up, &l.mlp.down,
                            &l.moe.experts_gate_up, &l.moe.experts_down, &l.moe.shared_expert.gate_up,
                            &l.moe.shared_expert.down}) {
        RoundMatrix(*t);
      }
    }
  }
  return std::move(*w);
}

KvCacheConfig Kv() {
  KvCacheConfig kv;
  kv.block_size = 16;
  kv.num_blocks = 256;
  return kv;
}

std::unique_ptr<Backend> Cuda(const std::string& name, bool graphs = true) {
  CudaBackendConfig config;
  config.max_num_tokens = 512;
  config.max_num_seqs = 64;
  config.max_logit_rows = 64;
  config.decode_graph_sizes = {1, 2, 4, 8, 16, 32, 64};
  config.use_cuda_graphs = graphs;
  auto backend = CudaBackend::Create(config);
  EXPECT_TRUE(backend.ok()) << backend.status();
  const absl::Status loaded = (*backend)->Load(Weights(name, false), Kv());
  EXPECT_TRUE(loaded.ok()) << loaded;
  return std::move(*backend);
}

std::unique_ptr<Backend> Cpu(const std::string& name) {
  auto backend = std::make_unique<CpuBackend>();
  EXPECT_TRUE(backend->Load(Weights(name, true), Kv()).ok());
  return backend;
}

double RelativeError(const std::vector<float>& got, const std::vector<float>& want) {
  double diff = 0, norm = 0;
  for (size_t i = 0; i < want.size(); ++i) diff += std::pow(double(got[i]) - want[i], 2), norm += double(want[i]) * want[i];
  return std::sqrt(diff / norm);
}

std::vector<int32_t> Greedy(Backend& backend, const std::vector<int32_t>& prompt, int32_t n) {
  SamplingParams greedy;
  greedy.temperature = 0;
  greedy.max_tokens = n;
  greedy.ignore_eos = true;
  auto result = scheduler::GenerateAlone(backend, prompt, greedy);
  EXPECT_TRUE(result.ok()) << result.status();
  std::vector<int32_t> tokens;
  for (const SampleResult& s : result->tokens) tokens.push_back(s.token);
  return tokens;
}

std::vector<int32_t> Blocks(int32_t first, int32_t count) {
  std::vector<int32_t> b(count);
  std::iota(b.begin(), b.end(), first);
  return b;
}

// The CUDA emulator (tests/engine/cuda/emulator) names itself as the device.
bool OnTheEmulator() {
  cudaDeviceProp prop;
  return cudaGetDeviceProperties(&prop, 0) == cudaSuccess && std::string_view(prop.name) == "CUDA emulator (CPU)";
}

// Known failures on the emulator, kept on a GPU: not a kernel bug. The
// fixtures are robust for fp32 only: transformers itself in bf16 leaves its
// own fp32 greedy tokens within 12 steps on qwen3_moe, olmoe and qwen2_moe;
// with the GEMM's activations carried exactly all but one pass
// (bench/RESULTS.md, "CUDA backend on the CPU emulator"). Fixtures robust in
// bf16 will bring them back.
constexpr char kBf16Fragile[] =
    "known bf16 failure on the CUDA emulator (fixtures fp32-robust only, see bench/RESULTS.md); runs on a GPU: ";

class CudaBackendTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override { SKIP_WITHOUT_GPU(); }
};

TEST_P(CudaBackendTest, PromptLogitsMatchTheCpu) {
  if (GetParam() == "qwen2_moe" && OnTheEmulator()) {
    GTEST_SKIP() << kBf16Fragile << "qwen2_moe's prompt logits are 1.4-1.8% from the CPU's, over 1e-2";
  }
  auto cuda = Cuda(GetParam());
  auto cpu = Cpu(GetParam());
  const std::vector<int32_t> blocks = Blocks(0, 16);
  for (const std::vector<int32_t>& ids : Prompts(GetParam())) {
    Batch batch{ids, {{static_cast<int32_t>(ids.size()), 0, blocks, LogitsMode::kAll}}};
    batch.return_routing = true;
    auto want = cpu->Forward(batch);
    auto got = cuda->Forward(batch);
    ASSERT_TRUE(want.ok() && got.ok()) << got.status();
    ASSERT_EQ(got->logits.size(), want->logits.size());
    EXPECT_LE(RelativeError(got->logits, want->logits), kMaxRelativeError);
    // Every MoE layer routed each token to k experts.
    ASSERT_EQ(got->expert_tokens.size(), want->expert_tokens.size());
    const ModelConfig& c = cuda->config();
    for (int l = 0; l < c.num_layers; ++l) {
      int32_t got_sum = 0, want_sum = 0;
      for (int e = 0; e < c.num_experts; ++e) {
        got_sum += got->expert_tokens[l * c.num_experts + e];
        want_sum += want->expert_tokens[l * c.num_experts + e];
      }
      EXPECT_EQ(got_sum, want_sum) << "layer " << l;
    }
    EXPECT_EQ(got->routed_experts.size(), want->routed_experts.size());
    EXPECT_EQ(got->routed_experts.size(), ids.size() * c.num_layers * c.top_k);
  }
}

// A sampled row and a returned row in one step: the device samples one while
// the other comes back as logits, and the greedy sample is that row's
// argmax (the same prompt twice); the logprobs asked for are its log-softmax.
TEST_P(CudaBackendTest, SampledAndReturnedRowsInOneStep) {
  auto cuda = Cuda(GetParam());
  const std::vector<int32_t> ids = Prompts(GetParam())[0];
  const int32_t n = static_cast<int32_t>(ids.size());
  const std::vector<int32_t> a = Blocks(0, 8), b = Blocks(8, 8);
  SamplingParams greedy;
  greedy.temperature = 0;
  greedy.logprobs = 2;
  Batch batch;
  batch.token_ids = ids;
  batch.token_ids.insert(batch.token_ids.end(), ids.begin(), ids.end());
  batch.sequences.push_back({n, 0, a, LogitsMode::kSample, {&greedy, 0, {}}});
  batch.sequences.push_back({n, 0, b, LogitsMode::kLast});
  auto out = cuda->Forward(batch);
  ASSERT_TRUE(out.ok()) << out.status();
  ASSERT_EQ(out->samples.size(), 1u);
  ASSERT_EQ(out->logits.size(), static_cast<size_t>(out->vocab_size));
  EXPECT_TRUE(out->routed_experts.empty());  // not asked for
  const SampleResult want = cpu::SampleRow(out->logits, {&greedy, 0, {}});
  const SampledRow& got = out->samples[0];
  ASSERT_FALSE(got.non_finite.has_value());
  EXPECT_EQ(got.sample.token, want.token);
  EXPECT_NEAR(got.sample.logprob, want.logprob, 1e-3);
  ASSERT_EQ(got.sample.top.size(), 2u);
  EXPECT_EQ(got.sample.top[0].token, want.top[0].token);
}

TEST_P(CudaBackendTest, GreedyTokensMatchTheCpu) {
  if ((GetParam() == "qwen3_moe" || GetParam() == "olmoe" || GetParam() == "qwen2_moe") && OnTheEmulator()) {
    GTEST_SKIP() << kBf16Fragile << GetParam() << "'s greedy tokens leave the CPU's after 1 to 9 steps";
  }
  auto cuda = Cuda(GetParam());
  auto cpu = Cpu(GetParam());
  for (const std::vector<int32_t>& ids : Prompts(GetParam())) {
    EXPECT_EQ(Greedy(*cuda, ids, 12), Greedy(*cpu, ids, 12));
  }
}

TEST_P(CudaBackendTest, DecodeGraphsMatchEagerSteps) {
  auto graphs = Cuda(GetParam(), true);
  auto eager = Cuda(GetParam(), false);
  for (const std::vector<int32_t>& ids : Prompts(GetParam())) {
    EXPECT_EQ(Greedy(*graphs, ids, 10), Greedy(*eager, ids, 10));
  }
}

// Every prompt in one batch (prefill together, then decode together) gives
// exactly the tokens of each prompt run alone.
TEST_P(CudaBackendTest, BatchInvariance) {
  auto cuda = Cuda(GetParam());
  const std::vector<std::vector<int32_t>> prompts = Prompts(GetParam());
  const int32_t steps = 8;
  std::vector<std::vector<int32_t>> alone;
  for (const auto& ids : prompts) alone.push_back(Greedy(*cuda, ids, steps));

  const int32_t n = static_cast<int32_t>(prompts.size());
  std::vector<std::vector<int32_t>> tables;
  for (int32_t s = 0; s < n; ++s) tables.push_back(Blocks(s * 8, 8));
  std::vector<std::vector<int32_t>> together(n);
  Batch batch;
  for (int32_t s = 0; s < n; ++s) {
    batch.token_ids.insert(batch.token_ids.end(), prompts[s].begin(), prompts[s].end());
    batch.sequences.push_back({static_cast<int32_t>(prompts[s].size()), 0, tables[s], LogitsMode::kLast});
  }
  for (int32_t step = 0; step < steps; ++step) {
    auto out = cuda->Forward(batch);
    ASSERT_TRUE(out.ok()) << out.status();
    Batch next;
    for (int32_t s = 0; s < n; ++s) {
      const float* row = &out->logits[int64_t{s} * out->vocab_size];
      const int32_t token = static_cast<int32_t>(std::max_element(row, row + out->vocab_size) - row);
      together[s].push_back(token);
      next.token_ids.push_back(token);
      const SequenceSlice& prev = batch.sequences[s];
      next.sequences.push_back({1, prev.num_cached + prev.num_tokens, tables[s], LogitsMode::kLast});
    }
    batch = next;
  }
  EXPECT_EQ(together, alone);
}

TEST_P(CudaBackendTest, MalformedBatchIsRejected) {
  auto cuda = Cuda(GetParam());
  const std::vector<int32_t> blocks = Blocks(0, 1);
  Batch bad{{cuda->config().vocab_size}, {{1, 0, blocks, LogitsMode::kLast}}};
  EXPECT_EQ(cuda->Forward(bad).status().code(), absl::StatusCode::kInvalidArgument);
  std::vector<int32_t> many(600, 1);
  const std::vector<int32_t> big_table = Blocks(0, 40);
  Batch too_big{many, {{600, 0, big_table, LogitsMode::kNone}}};
  EXPECT_EQ(cuda->Forward(too_big).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_GT(cuda->memory().weight_bytes, 0);
  EXPECT_GT(cuda->memory().kv_cache_bytes, 0);
  EXPECT_GT(cuda->memory().workspace_bytes, 0);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, CudaBackendTest, ::testing::Values("mixtral", "qwen3_moe", "olmoe", "qwen2_moe"));

}  // namespace
}  // namespace switchyard::engine::cuda
