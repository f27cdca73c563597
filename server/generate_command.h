// `switchyard generate`: offline generation from the command line.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "engine/backend.h"
#include "engine/model_loader.h"
#include "engine/sampling_params.h"

namespace switchyard::server {

struct GenerateCommandConfig {
  engine::ModelSource model;
  std::string backend = "auto";
  engine::KvCacheConfig kv_cache;
  std::vector<int32_t> prompt_ids;
  engine::SamplingParams sampling;
  bool json = false;  // token ids, text and per-token logprobs as one JSON object

  absl::Status Validate() const;
};

absl::Status RunGenerate(const GenerateCommandConfig& config, std::ostream& out);

// "1,2,3" -> {1, 2, 3}; a clear error naming the bad element otherwise.
absl::StatusOr<std::vector<int32_t>> ParseIdList(const std::string& text, const char* flag);

}  // namespace switchyard::server
