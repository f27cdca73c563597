// switchyard: the command-line entry point. Flags are parsed here, and only
// here, then mapped into each module's config struct.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "engine/demo_model.h"
#include "engine/model_loader.h"
#include "engine/sampling_params.h"
#include "common/status_macros.h"
#include "spdlog/sinks/stdout_color_sinks.h"
#include "spdlog/spdlog.h"
#include "engine/tokenizer/tokenize_lines.h"
#include "server/batch_generate_command.h"
#include "common/flag_spelling.h"
#include "common/openmp_waiting.h"
#include "server/generate_command.h"
#include "server/serve_command.h"

ABSL_FLAG(std::string, model, "", "Model directory (config.json, *.safetensors, tokenizer.json). Default: the built-in demo model.");
ABSL_FLAG(std::string, load_format, "safetensors",
          "safetensors: the checkpoint in --model; dummy: random weights shaped by --model's config.json.");
ABSL_FLAG(std::string, backend, "auto", "cpu, cuda, or auto (cuda when its library and a GPU are present).");
ABSL_FLAG(int32_t, kv_block_size, 16, "Tokens per paged KV-cache block.");
ABSL_FLAG(int64_t, kv_cache_mb, 512, "Memory for the KV cache, in MiB.");
ABSL_FLAG(std::string, kv_cache_dtype, "auto",
          "Element type of the KV cache: auto (the backend's own: f32 on cpu, bf16 on cuda), f32, or bf16 (half "
          "the memory and the bytes attention reads; on the golden fixtures the cpu's logits stay within 1e-2 relative of f32's). cuda keeps "
          "bf16 only.");
ABSL_FLAG(double, gpu_memory_fraction, 0.9,
          "cuda backend: the KV cache takes this share of the device memory left after the weights and the "
          "workspace, in (0, 1]; 0 = --kv-cache-mb instead. The cpu backend uses --kv-cache-mb.");
ABSL_FLAG(std::string, prompt, "", "Prompt text, encoded with the model's tokenizer.json.");
ABSL_FLAG(std::string, prompt_ids, "", "Prompt as comma-separated token ids, e.g. 1,415,2934.");
ABSL_FLAG(std::string, prompts_file, "",
          "Offline batch mode: a JSONL file, one request per line ({\"prompt_ids\": [...], and any sampling "
          "field such as \"max_tokens\" or \"temperature\"}); all run together through the continuous-batching "
          "scheduler and one JSON result per line is printed in input order.");
ABSL_FLAG(int32_t, max_num_batched_tokens, 512, "Scheduler: most tokens (prefill chunks + decodes) in one step.");
ABSL_FLAG(int32_t, max_num_seqs, 64, "Scheduler: most sequences running at once.");
ABSL_FLAG(int32_t, max_waiting, 1024, "Scheduler: most requests waiting; more are refused as overloaded.");
ABSL_FLAG(bool, prefix_caching, true,
          "Automatic prefix caching: full KV blocks of a prompt stay cached after their request ends, and a "
          "request whose prompt starts with the same tokens (and has the same cache_salt) reuses them instead of "
          "computing them again. --no-prefix-caching turns it off.");
// The same default as a Generate call that leaves max_tokens unset (proto/).
ABSL_FLAG(int32_t, max_tokens, switchyard::engine::SamplingParams{}.max_tokens,
          "Maximum number of tokens to generate (>= 1).");
ABSL_FLAG(float, temperature, 0.0f, "Sampling temperature; 0 = greedy.");
ABSL_FLAG(int32_t, top_k, 0, "Keep only the k most likely tokens; 0 = off.");
ABSL_FLAG(float, top_p, 1.0f, "Nucleus sampling: keep the smallest set with this much probability; 1 = off.");
ABSL_FLAG(float, min_p, 0.0f, "Drop tokens below min_p times the top probability; 0 = off.");
ABSL_FLAG(float, repetition_penalty, 1.0f, "Penalise tokens already in prompt or output (> 0; 1 = off).");
ABSL_FLAG(float, presence_penalty, 0.0f, "Subtract from the logit of every token already generated ([-2, 2]).");
ABSL_FLAG(float, frequency_penalty, 0.0f, "Subtract per occurrence in the generated text ([-2, 2]).");
ABSL_FLAG(std::optional<uint64_t>, seed, std::nullopt, "Seed that makes sampling reproducible.");
ABSL_FLAG(std::string, stop_token_ids, "", "Comma-separated token ids that end generation.");
ABSL_FLAG(bool, ignore_eos, false, "Keep generating past the model's end-of-sequence token.");
ABSL_FLAG(int32_t, logprobs, 0, "Return this many top logprobs per generated token ([0, 20]).");
ABSL_FLAG(bool, json, false, "Print token ids, text, finish reason and logprobs as one JSON object.");
ABSL_FLAG(bool, special_tokens, true,
          "tokenize: add the special tokens the tokenizer's post-processor adds (e.g. BOS); "
          "detokenize: keep special tokens in the text (false drops them).");
ABSL_FLAG(int32_t, port, 50051, "serve: the gRPC port (0 picks a free one, logged at start).");
ABSL_FLAG(std::string, host, "127.0.0.1",
          "serve: the address to listen on; the default serves this machine only, 0.0.0.0 every interface "
          "(a warning is logged when that is done without TLS and API keys or client certificates). The "
          "metrics port listens on the same address.");
ABSL_FLAG(int32_t, max_message_bytes, 4 << 20,
          "serve: largest gRPC message accepted or sent; larger requests get RESOURCE_EXHAUSTED.");
ABSL_FLAG(int32_t, max_metadata_bytes, 16 << 10,
          "serve: largest request metadata (headers) accepted; a larger one fails that call with "
          "RESOURCE_EXHAUSTED.");
ABSL_FLAG(int32_t, max_concurrent_streams, 256, "serve: most calls in flight on one client connection.");
ABSL_FLAG(absl::Duration, max_connection_age, absl::InfiniteDuration(),
          "serve: a client connection older than this is asked to reconnect (GOAWAY; its calls in flight go "
          "on), so that clients balancing over DNS find new replicas; default: never.");
ABSL_FLAG(absl::Duration, drain_timeout, absl::Seconds(30),
          "serve: after SIGTERM/SIGINT, how long calls in flight may finish before they are cancelled.");
ABSL_FLAG(int32_t, request_threads_nice, 10,
          "serve: how much nicer (0..19) than the engine thread the threads that accept, refuse and answer "
          "calls run, so that a storm of calls cannot take the engine's cores; 0 = the same priority.");
ABSL_FLAG(int32_t, metrics_port, 9090,
          "serve: Prometheus metrics at http://HOST:PORT/metrics, on their own port; 0 = no metrics.");
ABSL_FLAG(absl::Duration, watchdog_timeout, absl::Seconds(60),
          "serve: health turns NOT_SERVING when the engine has work but finishes no step for this long "
          "(and SERVING again when it recovers).");
ABSL_FLAG(absl::Duration, expert_load_window, absl::Minutes(1),
          "serve: the recent window of GetExpertLoad's recent_tokens and of the expert-imbalance gauges.");
ABSL_FLAG(int32_t, max_expert_series, 8192,
          "serve: most per-expert metric series (layers x experts); a larger model exports them summed over "
          "layers (layer=\"all\"), and none if even that is more.");
ABSL_FLAG(std::string, served_model_name, "",
          "serve: the model name requests may give; default: the model directory's name.");
ABSL_FLAG(std::string, tls_cert_file, "",
          "serve: PEM certificate chain; with --tls-key-file the gRPC port speaks TLS. Default: plaintext, "
          "for development on loopback.");
ABSL_FLAG(std::string, tls_key_file, "", "serve: PEM private key of --tls-cert-file.");
ABSL_FLAG(std::string, tls_client_ca_file, "",
          "serve: PEM CA certificates; set = mutual TLS: clients must present a certificate signed by one of "
          "them (needs --tls-cert-file).");
ABSL_FLAG(std::string, api_key_file, "",
          "serve: file of API keys, one per line ('#' comments); every API call must then send "
          "'authorization: Bearer <key>' metadata or get UNAUTHENTICATED. Health checks (grpc.health.v1, and "
          "KServe's ServerLive and ServerReady) and reflection are exempt. Default: no keys.");

namespace {

constexpr const char* kUsage =
    "Switchyard, an inference engine for Mixture-of-Experts language models.\n\n"
    "usage: switchyard <command> [flags]\n\n"
    "commands:\n"
    "  generate     offline generation: one prompt (--prompt TEXT or --prompt-ids), or a\n"
    "               JSONL file of requests run together (--prompts-file)\n"
    "  tokenize     read lines of text on stdin, print a JSON array of ids per line\n"
    "  detokenize   read JSON arrays of ids on stdin, print a JSON string per line\n"
    "  serve        the gRPC server (switchyard.v1.Switchyard, health, reflection) on --port\n\n"
    "Flags may be spelled with dashes or underscores (--max-tokens, --max_tokens).\n"
    "Run 'switchyard --help' for every flag.";

absl::StatusOr<std::string> ModelPathFromFlags() {
  const std::string model = absl::GetFlag(FLAGS_model);
  if (model.empty()) return switchyard::engine::DemoModelDir();
  return model;
}

int Fail(const std::string& message) {
  std::cerr << "switchyard: " << message << "\n";
  return 2;
}

// The engine's settings, mapped from the flags once for every command.
absl::StatusOr<switchyard::server::EngineConfig> EngineConfigFromFlags() {
  switchyard::server::EngineConfig c;
  ASSIGN_OR_RETURN(c.model.path, ModelPathFromFlags());
  ASSIGN_OR_RETURN(c.model.format, switchyard::engine::ParseLoadFormat(absl::GetFlag(FLAGS_load_format)));
  c.backend = absl::GetFlag(FLAGS_backend);
  c.kv_cache.block_size = absl::GetFlag(FLAGS_kv_block_size);
  c.kv_cache.memory_bytes = absl::GetFlag(FLAGS_kv_cache_mb) << 20;
  ASSIGN_OR_RETURN(c.kv_cache.element, switchyard::server::ParseKvCacheDType(absl::GetFlag(FLAGS_kv_cache_dtype)));
  c.kv_cache.device_memory_fraction = absl::GetFlag(FLAGS_gpu_memory_fraction);
  c.scheduler.max_num_batched_tokens = absl::GetFlag(FLAGS_max_num_batched_tokens);
  c.scheduler.max_num_seqs = absl::GetFlag(FLAGS_max_num_seqs);
  c.scheduler.max_waiting = absl::GetFlag(FLAGS_max_waiting);
  c.scheduler.enable_prefix_caching = absl::GetFlag(FLAGS_prefix_caching);
  return c;
}

absl::StatusOr<switchyard::server::GenerateCommandConfig> GenerateConfigFromFlags(
    const switchyard::server::EngineConfig& engine) {
  using switchyard::server::ParseIdList;
  switchyard::server::GenerateCommandConfig c;
  c.engine = engine;
  auto prompt = ParseIdList(absl::GetFlag(FLAGS_prompt_ids), "prompt_ids");
  if (!prompt.ok()) return prompt.status();
  c.prompt_ids = *prompt;
  c.prompt_text = absl::GetFlag(FLAGS_prompt);
  auto stops = ParseIdList(absl::GetFlag(FLAGS_stop_token_ids), "stop_token_ids");
  if (!stops.ok()) return stops.status();
  auto& s = c.sampling;
  s.stop_token_ids = *stops;
  s.max_tokens = absl::GetFlag(FLAGS_max_tokens);
  s.temperature = absl::GetFlag(FLAGS_temperature);
  s.top_k = absl::GetFlag(FLAGS_top_k);
  s.top_p = absl::GetFlag(FLAGS_top_p);
  s.min_p = absl::GetFlag(FLAGS_min_p);
  s.repetition_penalty = absl::GetFlag(FLAGS_repetition_penalty);
  s.presence_penalty = absl::GetFlag(FLAGS_presence_penalty);
  s.frequency_penalty = absl::GetFlag(FLAGS_frequency_penalty);
  s.seed = absl::GetFlag(FLAGS_seed);
  s.ignore_eos = absl::GetFlag(FLAGS_ignore_eos);
  s.logprobs = absl::GetFlag(FLAGS_logprobs);
  c.json = absl::GetFlag(FLAGS_json);
  return c;
}

switchyard::server::ServeConfig ServeConfigFromFlags(const switchyard::server::EngineConfig& engine) {
  switchyard::server::ServeConfig c;
  c.service.engine = engine;
  c.grpc.host = absl::GetFlag(FLAGS_host);
  c.grpc.port = absl::GetFlag(FLAGS_port);
  c.grpc.max_message_bytes = absl::GetFlag(FLAGS_max_message_bytes);
  c.grpc.limits.max_metadata_bytes = absl::GetFlag(FLAGS_max_metadata_bytes);
  c.grpc.limits.max_concurrent_streams = absl::GetFlag(FLAGS_max_concurrent_streams);
  c.grpc.limits.max_connection_age = absl::GetFlag(FLAGS_max_connection_age);
  c.grpc.model_name = absl::GetFlag(FLAGS_served_model_name);
  c.grpc.tls.cert_file = absl::GetFlag(FLAGS_tls_cert_file);
  c.grpc.tls.key_file = absl::GetFlag(FLAGS_tls_key_file);
  c.grpc.tls.client_ca_file = absl::GetFlag(FLAGS_tls_client_ca_file);
  c.grpc.api_key_file = absl::GetFlag(FLAGS_api_key_file);
  if (c.grpc.model_name.empty()) {
    std::filesystem::path dir = std::filesystem::path(engine.model.path).lexically_normal();
    if (!dir.has_filename()) dir = dir.parent_path();  // "models/mixtral/"
    c.grpc.model_name = dir.filename().string();
  }
  c.metrics_port = absl::GetFlag(FLAGS_metrics_port);
  c.max_expert_series = absl::GetFlag(FLAGS_max_expert_series);
  c.grpc.watchdog_timeout = absl::GetFlag(FLAGS_watchdog_timeout);
  c.service.expert_load_window = absl::GetFlag(FLAGS_expert_load_window);
  c.drain_timeout = absl::GetFlag(FLAGS_drain_timeout);
  c.request_threads_nice = absl::GetFlag(FLAGS_request_threads_nice);
  return c;
}

}  // namespace

int main(int argc, char** argv) {
  switchyard::BoundOpenMpSpinning(argv);
  absl::SetProgramUsageMessage(kUsage);
  // --help lists the flags defined here (absl would look for a file named
  // after the binary).
  absl::FlagsUsageConfig usage;
  usage.contains_help_flags = [](absl::string_view path) { return absl::EndsWith(path, "server/main.cc"); };
  absl::SetFlagsUsageConfig(usage);
  // Logs go to stderr so that stdout carries only results (JSON, ids, text).
  spdlog::set_default_logger(spdlog::stderr_color_mt("switchyard"));
  switchyard::AcceptDashedFlags(argc, argv);
  std::vector<char*> args = absl::ParseCommandLine(argc, argv);
  if (args.size() != 2) return Fail(absl::StrCat("expected one command\n", kUsage));
  const std::string command = args[1];
  if (command == "generate" || command == "serve") {
    auto engine = EngineConfigFromFlags();
    if (!engine.ok()) return Fail(engine.status().ToString());
    if (command == "serve") {
      const absl::Status st = switchyard::server::RunServe(ServeConfigFromFlags(*engine));
      return st.ok() ? 0 : Fail(st.ToString());
    }
    auto config = GenerateConfigFromFlags(*engine);
    if (!config.ok()) return Fail(config.status().ToString());
    if (const std::string path = absl::GetFlag(FLAGS_prompts_file); !path.empty()) {
      std::ifstream in(path);
      if (!in) return Fail(absl::StrCat("cannot open --prompts-file ", path));
      const absl::Status st =
          switchyard::server::RunBatchGenerate({config->engine, config->sampling}, in, std::cout);
      return st.ok() ? 0 : Fail(st.ToString());
    }
    if (absl::Status st = switchyard::server::RunGenerate(*config, std::cout); !st.ok()) return Fail(st.ToString());
    return 0;
  }
  if (command == "tokenize" || command == "detokenize") {
    auto model = ModelPathFromFlags();
    if (!model.ok()) return Fail(model.status().ToString());
    auto tokenizer = switchyard::server::LoadTokenizer(*model);
    if (!tokenizer.ok()) return Fail(tokenizer.status().ToString());
    const bool special = absl::GetFlag(FLAGS_special_tokens);
    const absl::Status st = command == "tokenize"
                                ? switchyard::engine::TokenizeLines(**tokenizer, std::cin, std::cout, special)
                                : switchyard::engine::DetokenizeLines(**tokenizer, std::cin, std::cout, !special);
    return st.ok() ? 0 : Fail(st.ToString());
  }
  return Fail(absl::StrCat("unknown command '", command, "'\n", kUsage));
}
