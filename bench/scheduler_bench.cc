// The continuous-batching scheduler: its own CPU time per step with a fake
// engine, and generated tokens/s of the CPU backend through the engine loop.
//
//   build/bench/scheduler_bench --benchmark_counters_tabular=true
#include <benchmark/benchmark.h>

#include <memory>
#include <vector>

#include "engine/backend_registry.h"
#include "engine/model_loader.h"
#include "scheduler/engine_loop.h"
#include "scheduler/scheduler.h"

namespace switchyard::bench {
namespace {

using scheduler::RequestId;

// Step() + BuildBatch + Update at 256 running sequences in steady state: each
// decodes every step, and one that finishes (at 256 tokens) is replaced by a
// new request with a 32-token prompt, so admission and chunked prefill are
// part of the figure.
void BM_SchedulerStep(benchmark::State& state) {
  constexpr int32_t kRunning = 256, kPrompt = 32, kMaxTokens = 256, kBlockSize = 16;
  scheduler::SchedulerConfig config;
  config.max_num_seqs = kRunning;
  config.max_num_batched_tokens = 512;
  const int32_t blocks_per_seq = (kPrompt + kMaxTokens + kBlockSize - 1) / kBlockSize;
  auto s = std::move(*scheduler::Scheduler::Create(config, {kRunning * blocks_per_seq + 16, kBlockSize}, 4096));
  RequestId next_id = 0;
  auto submit = [&] {
    // Staggered lengths so that sequences finish one or two at a time.
    const int32_t max_tokens = kMaxTokens - static_cast<int32_t>(next_id % kMaxTokens);
    if (!s->Submit({next_id++, std::vector<int32_t>(kPrompt, 1), max_tokens}).ok()) std::abort();
  };
  for (int32_t i = 0; i < kRunning; ++i) submit();

  engine::Batch batch;
  std::vector<scheduler::SampledToken> sampled;
  int64_t tokens = 0, chunks = 0;
  auto step = [&] {
    const scheduler::StepPlan plan = s->Step();
    scheduler::BuildBatch(plan, batch);
    sampled.clear();
    int32_t finished = 0;
    for (const scheduler::ScheduledChunk& c : plan.chunks) {
      if (!c.samples) continue;
      const bool done = c.seq->num_generated() + 1 == c.seq->max_tokens;
      finished += done;
      sampled.push_back({1, done});
    }
    s->Update(plan, sampled);
    for (int32_t i = 0; i < finished; ++i) submit();
    tokens += plan.num_tokens;
    chunks += static_cast<int64_t>(plan.chunks.size());
  };
  for (int32_t i = 0; i < 2 * kMaxTokens; ++i) step();  // reach the steady state
  tokens = chunks = 0;
  for (auto _ : state) step();
  state.counters["seqs/step"] = benchmark::Counter(static_cast<double>(chunks), benchmark::Counter::kAvgIterations);
  state.counters["tokens/step"] = benchmark::Counter(static_cast<double>(tokens), benchmark::Counter::kAvgIterations);
}
BENCHMARK(BM_SchedulerStep)->Unit(benchmark::kMicrosecond);

// Generated tokens/s of the CPU backend with `state.range(0)` requests in
// flight together (greedy, 16-token prompts, 64 tokens each).
void BM_Throughput(benchmark::State& state, engine::ModelSource source, int32_t max_tokens) {
  const int32_t concurrency = static_cast<int32_t>(state.range(0));
  auto weights = engine::LoadModel(source);
  if (!weights.ok()) {
    state.SkipWithError(weights.status().ToString().c_str());
    return;
  }
  auto backend = std::move(*engine::CreateBackend("cpu", {512, 64}));
  engine::KvCacheConfig kv;
  kv.num_blocks = concurrency * ((16 + max_tokens + 15) / 16);
  if (absl::Status st = backend->Load(std::move(*weights), kv); !st.ok()) {
    state.SkipWithError(st.ToString().c_str());
    return;
  }
  scheduler::SchedulerConfig config;
  config.max_num_seqs = concurrency;
  config.max_num_batched_tokens = std::max(512, concurrency);
  auto loop = std::move(*scheduler::EngineLoop::Create(*backend, config));
  engine::SamplingParams greedy;
  greedy.temperature = 0;
  greedy.max_tokens = max_tokens;
  greedy.ignore_eos = true;
  const int32_t vocab = backend->config().vocab_size;
  RequestId next_id = 0;
  for (auto _ : state) {
    for (int32_t i = 0; i < concurrency; ++i) {
      scheduler::EngineRequest r;
      r.id = next_id++;
      r.sampling = greedy;
      for (int32_t t = 0; t < 16; ++t) r.prompt_ids.push_back(static_cast<int32_t>((r.id * 31 + t * 7919) % vocab));
      if (!loop->Submit(std::move(r)).ok()) std::abort();
    }
    if (!loop->RunUntilIdle().ok()) std::abort();
  }
  state.counters["tokens/s"] = benchmark::Counter(static_cast<double>(concurrency) * max_tokens,
                                                  benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK_CAPTURE(BM_Throughput, fixture_mixtral, engine::ModelSource{SWITCHYARD_SOURCE_DIR "/tests/fixtures/mixtral"}, 64)
    ->Arg(1)->Arg(4)->Arg(16)->Arg(64)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
// OLMoE-shaped layers (2 of them, bf16, random weights): 8 tokens per
// request, since each step reads up to ~1.6 GB of expert weights.
BENCHMARK_CAPTURE(BM_Throughput, dummy_olmoe_2layer_bf16,
                  engine::ModelSource{SWITCHYARD_SOURCE_DIR "/bench/configs/olmoe_layer.json", engine::LoadFormat::kDummy}, 8)
    ->Arg(1)->Arg(4)->Arg(16)->Arg(64)
    ->Unit(benchmark::kMillisecond)
    ->Iterations(1)
    ->UseRealTime();

}  // namespace
}  // namespace switchyard::bench

BENCHMARK_MAIN();
