// `switchyard generate`: offline generation from the command line.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "engine/sampling_params.h"
#include "engine/tokenizer/tokenizer.h"
#include "server/engine_config.h"

namespace switchyard::server {

struct GenerateCommandConfig {
  EngineConfig engine;  // its scheduler limits bound the prompt's chunks
  std::vector<int32_t> prompt_ids;  // exactly one of prompt_ids and prompt_text
  std::string prompt_text;          // encoded with the model's tokenizer.json
  engine::SamplingParams sampling;
  bool json = false;  // token ids, text and per-token logprobs as one JSON object

  absl::Status Validate() const;
};

absl::Status RunGenerate(const GenerateCommandConfig& config, std::ostream& out);

// The tokenizer of a model directory (or of the directory holding a
// config.json); NOT_FOUND when it has no tokenizer.json.
absl::StatusOr<std::unique_ptr<engine::Tokenizer>> LoadTokenizer(const std::string& model_path);

// "1,2,3" -> {1, 2, 3}; a clear error naming the bad element otherwise.
absl::StatusOr<std::vector<int32_t>> ParseIdList(const std::string& text, const char* flag);

}  // namespace switchyard::server
