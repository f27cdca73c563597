#include "server/batch_generate_command.h"

#include <algorithm>
#include <chrono>
#include <optional>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "engine/backend_registry.h"
#include "nlohmann/json.hpp"
#include "scheduler/engine_loop.h"
#include "engine/tokenizer/stop_strings.h"
#include "server/generate_command.h"
#include "server/logprobs_json.h"
#include "spdlog/spdlog.h"

namespace switchyard::server {
namespace {

struct LineRequest {
  int64_t line = 0;  // 1-based, for messages
  std::vector<int32_t> prompt_ids;
  std::string prompt;  // text, when given instead of prompt_ids
  std::vector<std::string> stop;
  engine::SamplingParams sampling;
};

// Reads a field into `value` if present; a wrong JSON type names the field.
template <typename T>
absl::Status ReadField(const nlohmann::json& j, const char* name, T& value) {
  auto it = j.find(name);
  if (it == j.end()) return absl::OkStatus();
  try {
    value = it->get<T>();
  } catch (const nlohmann::json::exception&) {
    return absl::InvalidArgumentError(absl::StrCat("\"", name, "\" has the wrong type: ", it->dump()));
  }
  return absl::OkStatus();
}

absl::StatusOr<LineRequest> ParseRequest(const std::string& text, const engine::SamplingParams& defaults) {
  const nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return absl::InvalidArgumentError("not a JSON object");
  static const char* const kFields[] = {"prompt_ids", "prompt", "stop", "max_tokens", "temperature", "top_k",
                                        "top_p", "min_p", "repetition_penalty", "presence_penalty",
                                        "frequency_penalty", "seed", "stop_token_ids", "ignore_eos",
                                        "logprobs"};
  for (const auto& [key, value] : j.items()) {
    if (std::find(std::begin(kFields), std::end(kFields), key) == std::end(kFields)) {
      return absl::InvalidArgumentError(absl::StrCat("unknown field \"", key, "\""));
    }
  }
  LineRequest r;
  if (j.contains("prompt_ids") == j.contains("prompt")) {
    return absl::InvalidArgumentError("give exactly one of \"prompt\" (text) and \"prompt_ids\"");
  }
  RETURN_IF_ERROR(ReadField(j, "prompt_ids", r.prompt_ids));
  RETURN_IF_ERROR(ReadField(j, "prompt", r.prompt));
  RETURN_IF_ERROR(ReadField(j, "stop", r.stop));
  RETURN_IF_ERROR(engine::StopStrings::Validate(r.stop));
  engine::SamplingParams& s = r.sampling;
  s = defaults;
  RETURN_IF_ERROR(ReadField(j, "max_tokens", s.max_tokens));
  RETURN_IF_ERROR(ReadField(j, "temperature", s.temperature));
  RETURN_IF_ERROR(ReadField(j, "top_k", s.top_k));
  RETURN_IF_ERROR(ReadField(j, "top_p", s.top_p));
  RETURN_IF_ERROR(ReadField(j, "min_p", s.min_p));
  RETURN_IF_ERROR(ReadField(j, "repetition_penalty", s.repetition_penalty));
  RETURN_IF_ERROR(ReadField(j, "presence_penalty", s.presence_penalty));
  RETURN_IF_ERROR(ReadField(j, "frequency_penalty", s.frequency_penalty));
  if (j.contains("seed")) {
    uint64_t seed = 0;
    RETURN_IF_ERROR(ReadField(j, "seed", seed));
    s.seed = seed;
  }
  RETURN_IF_ERROR(ReadField(j, "stop_token_ids", s.stop_token_ids));
  RETURN_IF_ERROR(ReadField(j, "ignore_eos", s.ignore_eos));
  RETURN_IF_ERROR(ReadField(j, "logprobs", s.logprobs));
  return r;
}

absl::StatusOr<std::vector<LineRequest>> ReadRequests(std::istream& in, const engine::SamplingParams& defaults) {
  std::vector<LineRequest> requests;
  std::string text;
  for (int64_t line = 1; std::getline(in, text); ++line) {
    if (text.find_first_not_of(" \t\r") == std::string::npos) continue;
    absl::StatusOr<LineRequest> r = ParseRequest(text, defaults);
    if (!r.ok()) return absl::InvalidArgumentError(absl::StrCat("line ", line, ": ", r.status().message()));
    r->line = line;
    requests.push_back(std::move(*r));
  }
  if (requests.empty()) return absl::InvalidArgumentError("the prompts file has no requests");
  return requests;
}

struct Result {
  std::vector<engine::SampleResult> tokens;
  std::vector<int32_t> ids;  // of `tokens`, for the stop-string matcher
  std::optional<scheduler::FinishReason> finish;
  absl::Status error;  // the engine step it was in failed
};

// `stops` is null when the model has no tokenizer (no text in the output).
nlohmann::json ToJson(size_t index, const LineRequest& request, const Result& result,
                      const engine::StopStrings* stops) {
  nlohmann::json j;
  j["index"] = index;
  j["prompt_ids"] = request.prompt_ids;
  j["token_ids"] = result.ids;
  if (stops != nullptr) j["text"] = stops->Truncate(result.ids);
  j["finish_reason"] = std::string(scheduler::FinishReasonName(*result.finish));
  j["logprobs"] = LogprobsJson(result.tokens);
  return j;
}

}  // namespace

absl::Status BatchGenerateConfig::Validate() const { return engine.Validate(); }

absl::Status RunBatchGenerate(const BatchGenerateConfig& config, std::istream& in, std::ostream& out) {
  RETURN_IF_ERROR(config.Validate());
  ASSIGN_OR_RETURN(std::vector<LineRequest> requests, ReadRequests(in, config.defaults));
  // Text prompts, stop strings and text output need the model's tokenizer.
  absl::StatusOr<std::unique_ptr<engine::Tokenizer>> tokenizer = LoadTokenizer(config.engine.model.path);
  if (!tokenizer.ok() && !absl::IsNotFound(tokenizer.status())) return tokenizer.status();
  std::vector<engine::StopStrings> stops;
  for (LineRequest& r : requests) {
    if (!tokenizer.ok() && (!r.prompt.empty() || !r.stop.empty())) {
      return absl::FailedPreconditionError(absl::StrCat("line ", r.line, ": \"prompt\" and \"stop\" need a tokenizer: ",
                                                        tokenizer.status().message()));
    }
    if (!tokenizer.ok()) continue;
    if (!r.prompt.empty()) r.prompt_ids = (*tokenizer)->Encode(r.prompt);
    stops.emplace_back(**tokenizer, r.stop, r.prompt_ids);
  }
  ASSIGN_OR_RETURN(std::unique_ptr<engine::Backend> backend, LoadBackend(config.engine));
  ASSIGN_OR_RETURN(std::unique_ptr<scheduler::EngineLoop> loop,
                   scheduler::EngineLoop::Create(*backend, config.engine.scheduler));

  std::vector<Result> results(requests.size());
  size_t submitted = 0, written = 0;
  // The engine's time without loading, which bench/serving_overhead.sh
  // compares the server's throughput with.
  const auto start = std::chrono::steady_clock::now();
  size_t generated = 0;
  while (written < requests.size()) {
    // Feed the queue as far as it takes; a full queue ("overloaded") only
    // means the rest waits for the next step.
    for (; submitted < requests.size(); ++submitted) {
      const LineRequest& r = requests[submitted];
      Result& result = results[submitted];
      scheduler::StopStringMatcher matcher;
      if (!stops.empty() && !stops[submitted].empty()) {
        matcher = [&stop = stops[submitted]](absl::Span<const int32_t> generated) { return stop.Matches(generated); };
      }
      absl::Status st = loop->Submit({static_cast<scheduler::RequestId>(submitted), r.prompt_ids, r.sampling,
                                      absl::InfiniteFuture(), std::move(matcher),
                                      [&result](const scheduler::RequestOutput& o) {
                                        if (o.token) {
                                          result.tokens.push_back(*o.token);
                                          result.ids.push_back(o.token->token);
                                        }
                                        if (o.finish) result.finish = o.finish;
                                        if (!o.error.ok()) result.error = o.error;
                                      }});
      if (absl::IsUnavailable(st)) break;
      if (!st.ok()) return absl::Status(st.code(), absl::StrCat("line ", r.line, ": ", st.message()));
    }
    ASSIGN_OR_RETURN(bool worked, loop->Step());
    // A failed step fails the run (offline, there is no one to retry).
    for (size_t i = written; i < submitted; ++i) {
      const absl::Status& error = results[i].error;
      if (!error.ok()) return absl::Status(error.code(), absl::StrCat("line ", requests[i].line, ": ", error.message()));
    }
    for (; written < submitted && results[written].finish; ++written) {
      generated += results[written].ids.size();
      out << ToJson(written, requests[written], results[written], stops.empty() ? nullptr : &stops[written]).dump()
          << "\n";
      results[written] = {};  // written: free its tokens
    }
    if (!worked && written < submitted) return absl::InternalError("the engine loop stalled with requests left");
  }
  out.flush();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  spdlog::info("generated {} tokens for {} requests in {:.3f} s ({:.1f} tokens/s)", generated, requests.size(),
               seconds, static_cast<double>(generated) / seconds);
  return absl::OkStatus();
}

}  // namespace switchyard::server
