// Per-request decoding parameters, with the semantics users of vLLM, SGLang and
// TGI expect, and their validation.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "absl/status/status.h"

namespace switchyard::engine {

inline constexpr int32_t kMaxLogprobs = 20;

struct SamplingParams {
  float temperature = 1.0f;         // [0, inf); 0 = greedy (argmax, ties -> lowest id)
  int32_t top_k = 0;                // [0, inf); 0 = off; larger than the vocabulary = off
  float top_p = 1.0f;               // (0, 1]; 1 = off
  float min_p = 0.0f;               // [0, 1]; 0 = off
  float repetition_penalty = 1.0f;  // (0, inf); HF/vLLM semantics over prompt + generated
                                    // tokens: positive logits divided, negative multiplied
  float presence_penalty = 0.0f;    // [-2, 2]; OpenAI semantics over generated tokens
  float frequency_penalty = 0.0f;   // [-2, 2]; OpenAI semantics over generated tokens
  std::optional<uint64_t> seed;     // same seed + same logits => same tokens
  int32_t max_tokens = 16;          // [1, inf)
  std::vector<int32_t> stop_token_ids;  // each in [0, vocab_size)
  bool ignore_eos = false;
  int32_t logprobs = 0;             // [0, kMaxLogprobs]: how many top logprobs to return per token

  // INVALID_ARGUMENT naming the first bad field, its value and the allowed range
  // (NaN and infinities are bad everywhere).
  absl::Status Validate(int32_t vocab_size) const;
};

// The context rule, checked where a request enters (the server, before it
// queues) and where it is admitted (the scheduler): INVALID_ARGUMENT when the
// prompt plus max_tokens is longer than the model's context.
absl::Status CheckFitsContext(int64_t prompt_tokens, int32_t max_tokens, int64_t context_length);

}  // namespace switchyard::engine
