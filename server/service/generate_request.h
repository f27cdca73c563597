// Validation of a GenerateRequest before it is queued: every bad field is
// INVALID_ARGUMENT naming the field, its value and the allowed range, so that
// a client never waits in the queue to learn its request was malformed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/model_config.h"
#include "engine/sampling_params.h"
#include "engine/tokenizer/tokenizer.h"
#include "switchyard/v1/switchyard.pb.h"

namespace switchyard::server {

// GenerateRequest.cache_salt's limit: a salt only has to be unguessable,
// and the scheduler hashes it into every cached block's key.
inline constexpr size_t kMaxCacheSaltBytes = 256;

// A request the engine can run as is.
struct GenerationInput {
  std::vector<int32_t> prompt_ids;
  engine::SamplingParams sampling;
  std::vector<std::string> stop;
  bool return_routing = false;
  std::string cache_salt;  // scheduler::SequenceRequest::cache_salt
};

// Text prompts are encoded with `tokenizer`; ids, lengths and sampling are
// checked against `model`.
absl::StatusOr<GenerationInput> ParseGenerateRequest(const v1::GenerateRequest& request,
                                                     const engine::Tokenizer& tokenizer,
                                                     const engine::ModelConfig& model);

}  // namespace switchyard::server
