// CPU benchmarks of the MoE layer and of a whole decode step, reported as
// achieved bandwidth over the weight bytes a step actually reads and as a
// fraction of the memory bandwidth measured at start-up in the same run.
//
//   build/bench/moe_bench --benchmark_counters_tabular=true
#include <benchmark/benchmark.h>

#include <cstdio>
#include <numeric>
#include <random>

#include "bench/decode_bytes.h"
#include "bench/memory_bandwidth.h"
#include "engine/backend_registry.h"
#include "engine/cpu/moe.h"
#include "engine/cpu/sampler.h"
#include "engine/model_loader.h"

namespace switchyard::bench {
namespace {

using engine::DType;
using engine::HostTensor;

double g_bandwidth = 0;  // bytes/s, measured once in main

void ReportBandwidth(benchmark::State& state, double bytes_per_iteration) {
  state.counters["weights_MB"] = bytes_per_iteration / 1e6;
  state.counters["GB/s"] = benchmark::Counter(bytes_per_iteration / 1e9, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["of_peak"] =
      benchmark::Counter(bytes_per_iteration / g_bandwidth, benchmark::Counter::kIsIterationInvariantRate);
}

HostTensor RandomTensor(DType dt, std::vector<int64_t> shape, uint64_t seed) {
  HostTensor t(dt, std::move(shape));
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> uni(-0.03f, 0.03f);
  for (int64_t i = 0; i < t.numel(); ++i) {
    if (dt == DType::kF32) t.f32()[i] = uni(rng);
    else static_cast<uint16_t*>(t.data())[i] = engine::FloatToBF16(uni(rng));
  }
  return t;
}

// OLMoE-1B-7B's MoE layer: 64 experts, top-8, hidden 2048, intermediate 1024.
struct OlmoeLayer {
  static constexpr int64_t E = 64, K = 8, H = 2048, I = 1024;
  engine::MoeWeights w;
  explicit OlmoeLayer(DType dt) {
    w.router = RandomTensor(DType::kF32, {E, H}, 1);
    w.experts_gate_up = RandomTensor(dt, {E, 2 * I, H}, 2);
    w.experts_down = RandomTensor(dt, {E, H, I}, 3);
  }
};

void BM_OlmoeMoeLayer(benchmark::State& state) {
  const DType dt = state.range(0) == 16 ? DType::kBF16 : DType::kF32;
  const int32_t tokens = static_cast<int32_t>(state.range(1));
  static OlmoeLayer* layers[2] = {nullptr, nullptr};
  OlmoeLayer*& layer = layers[dt == DType::kBF16];
  if (layer == nullptr) layer = new OlmoeLayer(dt);

  std::vector<float> x(tokens * OlmoeLayer::H), out(x.size());
  std::mt19937 rng(tokens);
  std::normal_distribution<float> normal;
  for (float& v : x) v = normal(rng);
  engine::cpu::MoeWorkspace ws;
  std::vector<int32_t> counts(OlmoeLayer::E);
  for (auto _ : state) {
    engine::cpu::MoeForward(layer->w, {OlmoeLayer::K, false}, x.data(), tokens, out.data(), counts.data(), ws);
    benchmark::DoNotOptimize(out.data());
  }
  int64_t active = 0;
  for (int32_t c : ws.plan.expert_counts) active += c > 0;
  const double expert_bytes = 3.0 * OlmoeLayer::H * OlmoeLayer::I * engine::DTypeSize(dt);
  state.counters["experts_read"] = static_cast<double>(active);
  ReportBandwidth(state, active * expert_bytes + layer->w.router.nbytes());
}
BENCHMARK(BM_OlmoeMoeLayer)
    ->ArgNames({"bits", "tokens"})
    ->ArgsProduct({{16, 32}, {1, 4, 16}})
    ->Unit(benchmark::kMillisecond)
    ->MinTime(1.0)
    ->UseRealTime();

// A whole decode step (one sequence, 128 tokens of context) through the CPU backend.
void BM_DecodeStep(benchmark::State& state, engine::ModelSource source) {
  auto weights = engine::LoadModel(source);
  if (!weights.ok()) {
    state.SkipWithError(weights.status().ToString().c_str());
    return;
  }
  const engine::ModelWeights* w = weights->get();
  auto backend = engine::CreateBackend("cpu", {512, 64});
  engine::KvCacheConfig kv;
  kv.num_blocks = 16;
  if (!(*backend)->Load(std::move(*weights), kv).ok()) {
    state.SkipWithError("load failed");
    return;
  }
  constexpr int32_t kContext = 128;
  std::vector<int32_t> blocks(16);
  std::iota(blocks.begin(), blocks.end(), 0);
  std::vector<int32_t> prompt(kContext);
  for (int32_t i = 0; i < kContext; ++i) prompt[i] = (i * 7919) % w->config.vocab_size;
  engine::Batch prefill{prompt, {{kContext, 0, blocks, engine::LogitsMode::kLast}}};
  if (!(*backend)->Forward(prefill).ok()) {
    state.SkipWithError("prefill failed");
    return;
  }
  engine::Batch decode{{prompt[5]}, {{1, kContext, blocks, engine::LogitsMode::kLast}}};
  std::vector<int32_t> expert_tokens;
  for (auto _ : state) {
    auto out = (*backend)->Forward(decode);
    expert_tokens = out->expert_tokens;
    benchmark::DoNotOptimize(out->logits.data());
  }
  ReportBandwidth(state, DecodeStepBytes(*w, expert_tokens));
}
BENCHMARK_CAPTURE(BM_DecodeStep, fixture_mixtral,
                  engine::ModelSource{SWITCHYARD_SOURCE_DIR "/tests/fixtures/mixtral"})
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_DecodeStep, dummy_olmoe_2layer_bf16,
                  engine::ModelSource{SWITCHYARD_SOURCE_DIR "/bench/configs/olmoe_layer.json", engine::LoadFormat::kDummy})
    ->Unit(benchmark::kMillisecond)
    ->MinTime(1.0)
    ->UseRealTime();

// One token sampled from a Qwen-sized vocabulary row: greedy, as most
// requests are, and with top-k 40 and temperature.
void BM_SampleRow(benchmark::State& state) {
  constexpr int32_t kVocab = 151936;
  std::vector<float> logits(kVocab);
  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0.f, 3.f);
  for (float& l : logits) l = normal(rng);
  engine::SamplingParams params;
  params.temperature = state.range(0) == 0 ? 0.f : 0.8f;
  params.top_k = static_cast<int32_t>(state.range(0));
  for (auto _ : state) {
    benchmark::DoNotOptimize(engine::cpu::SampleRow(logits, {&params, 12345, {}}));
  }
}
BENCHMARK(BM_SampleRow)->ArgName("top_k")->Arg(0)->Arg(40)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace switchyard::bench

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  switchyard::bench::g_bandwidth = switchyard::bench::MeasureReadBandwidth();
  std::printf("measured memory read bandwidth: %.2f GB/s (all threads, 1 GiB buffer, best of 10)\n",
              switchyard::bench::g_bandwidth / 1e9);
  benchmark::AddCustomContext("read_bandwidth_GBps", std::to_string(switchyard::bench::g_bandwidth / 1e9));
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
