// Whole-model CPU throughput, in the shape llama.cpp's llama-bench and
// llama-batched-bench measure it, so that bench/llama_cpp_peer.sh can put the
// two engines side by side:
//   prefill  one sequence of --prefill tokens from an empty cache, one step
//   decode   N sequences that each hold --context tokens, --decode-steps steps
//            of one token per sequence (greedy, sampled behind the backend)
// It drives the backend directly (no scheduler, no server) and prints one JSON
// object per line: the measured read bandwidth and decode bytes, then one
// line per workload.
//
//   OMP_NUM_THREADS=2 build/bench/engine_bench --model DIR [--decode-seqs 1,8,32]
//   build/bench/engine_bench --model bench/configs/qwen3_moe_peer.json --dummy
// (the second: random weights of the peer benchmark's shapes, without its
// setup; for profiling, not for the table).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <numeric>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "bench/decode_bytes.h"
#include "common/flag_spelling.h"
#include "common/openmp_waiting.h"
#include "bench/memory_bandwidth.h"
#include "engine/backend_registry.h"
#include "engine/model_loader.h"
#include "server/engine_config.h"

ABSL_FLAG(std::string, model, "", "Model directory (or a config.json with --dummy).");
ABSL_FLAG(bool, dummy, false, "Random weights shaped by --model's config.json.");
ABSL_FLAG(int32_t, prefill, 512, "Prompt tokens of the prefill workload (0 = skip it).");
ABSL_FLAG(int32_t, context, 128, "Tokens each decoding sequence holds before the timed steps.");
ABSL_FLAG(int32_t, decode_steps, 32, "Timed decode steps per workload.");
ABSL_FLAG(std::string, decode_seqs, "1,8,32", "Sequences decoded together, one workload each.");
ABSL_FLAG(int32_t, kv_block_size, 16, "Tokens per KV-cache block.");
ABSL_FLAG(std::string, kv_cache_dtype, "auto", "KV cache element type: auto (f32), f32 or bf16.");

namespace switchyard::bench {
namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point since) { return std::chrono::duration<double>(Clock::now() - since).count(); }

[[noreturn]] void Fail(const std::string& what) {
  std::fprintf(stderr, "engine_bench: %s\n", what.c_str());
  std::exit(1);
}

// Hands out whole KV blocks to the sequences of the benchmark.
struct Blocks {
  int32_t block_size;
  int32_t next = 0;
  std::vector<int32_t> Take(int32_t tokens) {
    std::vector<int32_t> ids((tokens + block_size - 1) / block_size);
    std::iota(ids.begin(), ids.end(), next);
    next += static_cast<int32_t>(ids.size());
    return ids;
  }
};

struct Bench {
  engine::Backend& backend;
  const engine::ModelWeights& weights;
  int32_t block_size;
  engine::SamplingParams greedy;

  Bench(engine::Backend& b, const engine::ModelWeights& w, int32_t bs) : backend(b), weights(w), block_size(bs) {
    greedy.temperature = 0;
  }

  // Token ids the tiny benchmark tokenizers all have.
  int32_t Token(int64_t i) const { return static_cast<int32_t>((i * 7919 + 13) % std::min(weights.config.vocab_size, 500)); }

  engine::ForwardResult Run(const engine::Batch& batch) {
    auto out = backend.Forward(batch);
    if (!out.ok()) Fail(out.status().ToString());
    return *std::move(out);
  }

  engine::SequenceSlice Slice(int32_t tokens, int32_t cached, const std::vector<int32_t>& blocks) {
    return {tokens, cached, blocks, engine::LogitsMode::kSample, {&greedy, 0, {}}};
  }

  double Prefill(int32_t tokens) {
    Blocks pool{block_size};
    const std::vector<int32_t> blocks = pool.Take(tokens);
    engine::Batch batch;
    for (int32_t i = 0; i < tokens; ++i) batch.token_ids.push_back(Token(i));
    batch.sequences.push_back(Slice(tokens, 0, blocks));
    Run(batch);  // warm-up, as llama-bench does
    const auto start = Clock::now();
    Run(batch);
    return tokens / Seconds(start);
  }

  // Returns tok/s over all sequences and the weight bytes of the last step.
  std::pair<double, double> Decode(int32_t seqs, int32_t context, int32_t steps) {
    Blocks pool{block_size};
    std::vector<std::vector<int32_t>> blocks;
    std::vector<int32_t> last(seqs);
    for (int32_t s = 0; s < seqs; ++s) {
      blocks.push_back(pool.Take(context + steps));
      engine::Batch prompt;
      for (int32_t i = 0; i < context; ++i) prompt.token_ids.push_back(Token(s * context + i));
      prompt.sequences.push_back(Slice(context, 0, blocks.back()));
      last[s] = Run(prompt).samples[0].sample.token;
    }
    double seconds = 0, bytes = 0;
    for (int32_t step = 0; step < steps; ++step) {
      engine::Batch batch;
      for (int32_t s = 0; s < seqs; ++s) {
        batch.token_ids.push_back(last[s]);
        batch.sequences.push_back(Slice(1, context + step, blocks[s]));
      }
      const auto start = Clock::now();
      const engine::ForwardResult out = Run(batch);
      seconds += Seconds(start);
      for (int32_t s = 0; s < seqs; ++s) last[s] = out.samples[s].sample.token;
      bytes = DecodeStepBytes(weights, out.expert_tokens, seqs);
    }
    return {seqs * steps / seconds, bytes};
  }
};

std::vector<int32_t> ParseCounts(const std::string& text) {
  std::vector<int32_t> counts;
  for (absl::string_view part : absl::StrSplit(text, ',', absl::SkipEmpty())) {
    int32_t n = 0;
    if (!absl::SimpleAtoi(part, &n) || n < 1) Fail("bad --decode-seqs entry: " + std::string(part));
    counts.push_back(n);
  }
  return counts;
}

int Main() {
  const std::vector<int32_t> seq_counts = ParseCounts(absl::GetFlag(FLAGS_decode_seqs));
  const int32_t prefill = absl::GetFlag(FLAGS_prefill), context = absl::GetFlag(FLAGS_context);
  const int32_t steps = absl::GetFlag(FLAGS_decode_steps), block_size = absl::GetFlag(FLAGS_kv_block_size);
  const int32_t max_seqs = *std::max_element(seq_counts.begin(), seq_counts.end());

  // Measured before the model is loaded: its 1 GiB buffer is freed by then,
  // so the process's peak RSS is the model's, not the two together.
  const double bandwidth = MeasureReadBandwidth();
  auto weights = engine::LoadModel({absl::GetFlag(FLAGS_model),
                                    absl::GetFlag(FLAGS_dummy) ? engine::LoadFormat::kDummy
                                                               : engine::LoadFormat::kSafetensors});
  if (!weights.ok()) Fail(weights.status().ToString());
  const engine::ModelWeights* w = weights->get();
  const int32_t step_tokens = std::max({prefill, context, max_seqs});
  auto backend = engine::CreateBackend("cpu", {step_tokens, std::max(max_seqs, 1)});
  if (!backend.ok()) Fail(backend.status().ToString());
  engine::KvCacheConfig kv;
  kv.block_size = block_size;
  auto element = server::ParseKvCacheDType(absl::GetFlag(FLAGS_kv_cache_dtype));
  if (!element.ok()) Fail(element.status().ToString());
  kv.element = *element;
  // Every workload takes its blocks from 0 again.
  const auto blocks_for = [&](int32_t tokens) { return (tokens + block_size - 1) / block_size; };
  kv.num_blocks = std::max(blocks_for(prefill), max_seqs * blocks_for(context + steps));
  if (absl::Status s = (*backend)->Load(*std::move(weights), kv); !s.ok()) Fail(s.ToString());

  Bench bench(**backend, *w, block_size);
  std::string bytes_json;
  std::vector<std::string> lines;
  for (int32_t seqs : seq_counts) {
    const auto [tok_s, bytes] = bench.Decode(seqs, context, steps);
    lines.push_back("{\"engine\":\"switchyard\",\"workload\":\"decode\",\"seqs\":" + std::to_string(seqs) +
                    ",\"tok_s\":" + std::to_string(tok_s) + "}");
    bytes_json += (bytes_json.empty() ? "\"" : ",\"") + std::to_string(seqs) + "\":" + std::to_string(bytes / seqs);
  }
  if (prefill > 0) {
    lines.push_back("{\"engine\":\"switchyard\",\"workload\":\"prefill\",\"tokens\":" + std::to_string(prefill) +
                    ",\"tok_s\":" + std::to_string(bench.Prefill(prefill)) + "}");
  }
  std::printf("{\"engine\":\"switchyard\",\"read_bandwidth_gbs\":%.3f,\"decode_bytes_per_token\":{%s}}\n",
              bandwidth / 1e9, bytes_json.c_str());
  for (const std::string& line : lines) std::printf("%s\n", line.c_str());
  return 0;
}

}  // namespace
}  // namespace switchyard::bench

int main(int argc, char** argv) {
  switchyard::BoundOpenMpSpinning(argv);  // as the server does
  switchyard::AcceptDashedFlags(argc, argv);
  absl::ParseCommandLine(argc, argv);
  return switchyard::bench::Main();
}
