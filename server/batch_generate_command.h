// `switchyard generate --prompts-file F.jsonl`: offline batch generation. Every
// line of the input is one request, a JSON object with its prompt, as text
// ("prompt", encoded with the model's tokenizer.json) or as "prompt_ids", and
// optionally "stop" (strings that end generation; the text returned stops
// before them) and its own sampling settings (the SamplingParams field names:
// "max_tokens", "temperature", "top_k", "top_p", "min_p",
// "repetition_penalty", "presence_penalty", "frequency_penalty", "seed",
// "stop_token_ids", "ignore_eos", "logprobs"); blank lines are skipped. All
// requests run together through the continuous-batching engine loop, and one
// JSON object per request is written in input order, each as soon as it and
// every request before it have finished:
//   {"index":0,"prompt_ids":[...],"token_ids":[...],"text":"...","finish_reason":"length","logprobs":[...]}
// ("text" when the model has a tokenizer). The log (stderr) then gives the
// tokens generated and the time taken, loading excluded.
#pragma once

#include <istream>
#include <ostream>
#include <string>

#include "absl/status/status.h"
#include "engine/sampling_params.h"
#include "server/engine_config.h"

namespace switchyard::server {

struct BatchGenerateConfig {
  EngineConfig engine;
  // What a line's missing fields take (the command line's sampling flags).
  engine::SamplingParams defaults;

  absl::Status Validate() const;
};

// Reads every request first, so that a bad line fails the run before any work
// ("line 3: ..."); a request that can never run (too long for the context or
// the KV cache) is also reported with its line.
absl::Status RunBatchGenerate(const BatchGenerateConfig& config, std::istream& in, std::ostream& out);

}  // namespace switchyard::server
