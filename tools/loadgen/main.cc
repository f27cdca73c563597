// switchyard-loadgen: a load generator for a Switchyard server. Flags are
// parsed here, and only here, into a LoadgenConfig.
#include <fstream>
#include <iostream>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "common/flag_spelling.h"
#include "tools/loadgen/config.h"
#include "tools/loadgen/report.h"
#include "tools/loadgen/runner.h"
#include "tools/loadgen/workload.h"

ABSL_FLAG(std::string, target, "127.0.0.1:50051", "The server's address, host:port.");
ABSL_FLAG(std::string, model, "", "The served model's name; empty = the server's one model.");
ABSL_FLAG(std::string, mode, "closed",
          "closed: --concurrency requests in flight at all times; open: Poisson arrivals at --rate requests/s "
          "regardless of how many are in flight.");
ABSL_FLAG(int32_t, concurrency, 1, "closed: requests in flight.");
ABSL_FLAG(double, rate, 0, "open: mean requests per second.");
ABSL_FLAG(int64_t, num_requests, 100, "Requests to send; 0 = no limit (then give --duration).");
ABSL_FLAG(absl::Duration, duration, absl::ZeroDuration(),
          "Stop sending after this long, e.g. 30s; 0 = no limit. Requests in flight then finish and count.");
ABSL_FLAG(int32_t, prompt_tokens, 32, "Random prompts of this many token ids, drawn from the model's vocabulary.");
ABSL_FLAG(std::string, prompts_file, "",
          "Prompts from a JSONL file instead, one {\"prompt_ids\": [...]} or {\"prompt\": \"text\"} per line "
          "(`switchyard generate --prompts-file` input); cycled when there are more requests than lines.");
ABSL_FLAG(int32_t, max_tokens, 32, "Tokens each request generates.");
ABSL_FLAG(bool, ignore_eos, true, "Generate past the end-of-sequence token, so every request makes --max-tokens.");
ABSL_FLAG(float, temperature, 0.0f, "Sampling temperature; 0 = greedy.");
ABSL_FLAG(uint64_t, seed, 0, "Seed of the random prompts and of the open loop's arrival times.");
ABSL_FLAG(std::string, save_prompts, "",
          "Also write the requests (prompt ids, max_tokens, temperature, ignore_eos) to this file as "
          "`switchyard generate --prompts-file` input, to run the same workload offline.");
ABSL_FLAG(bool, json, false, "Print the report as one JSON object instead of a table.");

namespace {

namespace loadgen = switchyard::loadgen;
namespace v1 = switchyard::v1;

constexpr const char* kUsage =
    "switchyard-loadgen, a load generator for a Switchyard gRPC server.\n\n"
    "usage: switchyard-loadgen --target=HOST:PORT [--mode=closed --concurrency=N | --mode=open --rate=R]\n"
    "                          [--num-requests=N] [--duration=30s] [--prompt-tokens=N | --prompts-file=F]\n"
    "                          [--max-tokens=N] [--json]\n\n"
    "Streams each request with GenerateStream and reports requests completed and failed (by status\n"
    "code), request and output token throughput, and the mean, p50, p90, p99 and max of time to\n"
    "first token (TTFT), time per output token (TPOT), inter-token latency (ITL) and end-to-end\n"
    "latency (E2E), measured on the client. Exits 1 when a request failed (after the report), 2 on\n"
    "bad arguments. Flags may be spelled with dashes or underscores.";

int Fail(const std::string& message, int code) {
  std::cerr << "switchyard-loadgen: " << message << "\n";
  return code;
}

absl::StatusOr<loadgen::LoadgenConfig> ConfigFromFlags() {
  loadgen::LoadgenConfig c;
  c.target = absl::GetFlag(FLAGS_target);
  c.model = absl::GetFlag(FLAGS_model);
  const std::string mode = absl::GetFlag(FLAGS_mode);
  if (mode == "closed") c.mode = loadgen::Mode::kClosed;
  else if (mode == "open") c.mode = loadgen::Mode::kOpen;
  else return absl::InvalidArgumentError(absl::StrCat("--mode must be closed or open, got '", mode, "'"));
  c.concurrency = absl::GetFlag(FLAGS_concurrency);
  c.rate = absl::GetFlag(FLAGS_rate);
  c.num_requests = absl::GetFlag(FLAGS_num_requests);
  c.duration = absl::GetFlag(FLAGS_duration);
  c.prompt_tokens = absl::GetFlag(FLAGS_prompt_tokens);
  c.prompts_file = absl::GetFlag(FLAGS_prompts_file);
  c.seed = absl::GetFlag(FLAGS_seed);
  c.sampling.max_tokens = absl::GetFlag(FLAGS_max_tokens);
  c.sampling.temperature = absl::GetFlag(FLAGS_temperature);
  c.sampling.ignore_eos = absl::GetFlag(FLAGS_ignore_eos);
  c.save_prompts = absl::GetFlag(FLAGS_save_prompts);
  if (absl::Status st = c.Validate(); !st.ok()) return st;
  return c;
}

// Random prompts need the model's vocabulary, and must leave room in its
// context for the generated tokens.
absl::StatusOr<loadgen::Workload> WorkloadFor(const loadgen::LoadgenConfig& config, const v1::ModelInfo& info) {
  if (!config.prompts_file.empty()) {
    std::ifstream in(config.prompts_file);
    if (!in) return absl::NotFoundError(absl::StrCat("cannot open --prompts-file ", config.prompts_file));
    absl::StatusOr<loadgen::Workload> w = loadgen::Workload::FromJsonl(in);
    if (!w.ok()) return absl::InvalidArgumentError(absl::StrCat(config.prompts_file, ": ", w.status().message()));
    return w;
  }
  if (config.prompt_tokens + config.sampling.max_tokens > info.context_length()) {
    return absl::InvalidArgumentError(absl::StrCat("--prompt-tokens + --max-tokens = ",
                                                   config.prompt_tokens + config.sampling.max_tokens,
                                                   " exceeds the model's context length ", info.context_length()));
  }
  return loadgen::Workload::Random(config.prompt_tokens, info.vocab_size(), config.seed);
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(kUsage);
  absl::FlagsUsageConfig usage;
  usage.contains_help_flags = [](absl::string_view path) { return absl::EndsWith(path, "tools/loadgen/main.cc"); };
  absl::SetFlagsUsageConfig(usage);
  switchyard::AcceptDashedFlags(argc, argv);
  if (absl::ParseCommandLine(argc, argv).size() != 1) return Fail("takes no positional arguments", 2);
  absl::StatusOr<loadgen::LoadgenConfig> config = ConfigFromFlags();
  if (!config.ok()) return Fail(std::string(config.status().message()), 2);

  auto channel = grpc::CreateChannel(config->target, grpc::InsecureChannelCredentials());
  auto stub = v1::Switchyard::NewStub(channel);
  absl::StatusOr<v1::ModelInfo> info = loadgen::FetchModelInfo(*stub, config->model);
  if (!info.ok()) return Fail(absl::StrCat(config->target, ": ", info.status().message()), 1);
  absl::StatusOr<loadgen::Workload> workload = WorkloadFor(*config, *info);
  if (!workload.ok()) return Fail(std::string(workload.status().message()), 2);
  if (!config->save_prompts.empty()) {
    std::ofstream out(config->save_prompts);
    loadgen::WritePromptsJsonl(*workload, config->num_requests, config->sampling, out);
    if (!out) return Fail(absl::StrCat("cannot write --save-prompts ", config->save_prompts), 1);
  }

  const loadgen::RunResult run = loadgen::RunLoad(*stub, *config, *workload);
  const loadgen::Report report = loadgen::BuildReport(*config, run.records, run.duration_s);
  std::cout << (absl::GetFlag(FLAGS_json) ? loadgen::ReportJson(report) + "\n" : loadgen::FormatReport(report));
  for (const loadgen::RequestRecord& r : run.records) {
    if (r.status != "OK") {
      std::cerr << "switchyard-loadgen: first failure: request " << r.index << ": " << r.status << ": " << r.error << "\n";
      return 1;
    }
  }
  return 0;
}
