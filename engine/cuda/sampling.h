// Sampling on the device: the next token of each sampled row (LogitsMode::
// kSample) from its logits, so that only token ids, the logprobs asked for
// and a non-finite flag leave the GPU, never a vocabulary-sized row.
//
// The semantics are the CPU sampler's (engine/cpu/sampler.h), in its order:
// logprobs of the raw logits; penalties; then greedy (the argmax, lowest id
// on ties: the same token as the CPU), or temperature, top-k, top-p, min-p
// and a draw from SplitMix64 at the row's rng_state (rng.h). Two differences,
// both within the distribution: sums are float (the CPU's are double), and a
// truncation keeps every token tied with its threshold (the CPU keeps the
// lower ids), so a seeded draw is reproducible on the device but need not be
// the token the CPU draws. top-k and top-p find their thresholds by a binary
// search over the logits' order (32 passes over the row each), not a sort.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

#include "absl/status/status.h"
#include "engine/batch.h"

namespace switchyard::engine::cuda {

// One sampled row as the kernel reads it (packed by PackSampling).
struct DeviceRowSampling {
  int32_t logits_row = 0;  // its row among the step's logits rows
  float temperature = 0;
  int32_t top_k = 0;
  float top_p = 1;
  float min_p = 0;
  float repetition_penalty = 1;
  float presence_penalty = 0;
  float frequency_penalty = 0;
  int32_t num_logprobs = 0;
  int32_t seen_begin = 0;  // its penalised tokens: seen[seen_begin, seen_begin + seen_count)
  int32_t seen_count = 0;
  uint64_t rng_state = 0;
};

// What comes back for one sampled row.
struct DeviceSample {
  int32_t token;
  float logprob;
  // -1, or the first token whose raw logit was NaN or +inf (the row was then
  // not sampled) and that logit.
  int32_t non_finite_token;
  float non_finite_value;
  int32_t num_top;  // min(num_logprobs, vocab)
  int32_t top_tokens[kMaxLogprobs];
  float top_logprobs[kMaxLogprobs];
};

struct SampleRowsParams {
  // Logits rows [first_logits_row, first_logits_row + rows in the buffer),
  // [*, vocab]: a sampled row is overwritten (its penalties are applied in place).
  float* logits = nullptr;
  int32_t vocab = 0;
  int32_t first_logits_row = 0;
  const DeviceRowSampling* rows = nullptr;  // [num_rows], each logits_row in the buffer
  int32_t num_rows = 0;
  const TokenCount* seen = nullptr;  // the rows' penalised tokens
  float* seen_raw = nullptr;         // [as many as seen]: their raw logits, scratch
  DeviceSample* out = nullptr;       // [num_rows]
};

absl::Status SampleRows(const SampleRowsParams& p, cudaStream_t stream);

}  // namespace switchyard::engine::cuda
