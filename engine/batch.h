// Batch: what one forward step runs. The tokens of all sequences of the step
// are one flat array; each sequence says how many of them are its own, how
// many of its tokens are already in the paged KV cache, and which cache blocks
// hold its positions. The scheduler builds this; backends only read it.
//
// Sampling happens behind the backend: a sequence that is to produce its next
// token (LogitsMode::kSample) brings its sampling parameters and state, and
// the backend returns the token (with the logprobs asked for), not the
// vocabulary-sized row of logits, which on a GPU never leaves the device.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "absl/types/span.h"
#include "engine/sampling_params.h"

namespace switchyard::engine {

enum class LogitsMode {
  kNone,    // a prefill chunk that is not the last: nothing to sample yet
  kSample,  // the sequence's next token, sampled from its last token's logits
  kLast,    // the logits of the sequence's last token of this step (tests, scoring)
  kAll,     // the logits of every token of this step (golden tests, scoring)
};

// A token the penalties act on, and how many times the sequence generated it
// (0: it is only in the prompt, which only the repetition penalty reads).
struct TokenCount {
  int32_t token = 0;
  int32_t generated = 0;
};

// What a kSample row needs besides its logits. SamplingState (sampling_state.h)
// keeps it per request and Row() builds it for each step; a backend samples
// from it without keeping any state of its own.
struct RowSampling {
  const SamplingParams* params = nullptr;  // validated; owned by the caller
  // The SplitMix64 state this token's draw starts from (rng.h): the seed
  // advanced once per token generated so far, so that a seeded request draws
  // the same stream wherever and however it is batched.
  uint64_t rng_state = 0;
  // Every token a penalty acts on, each once: the prompt's tokens when
  // repetition_penalty is on, and every generated token with its count.
  // Empty when no penalty is on.
  absl::Span<const TokenCount> seen;
};

struct SequenceSlice {
  int32_t num_tokens = 0;   // tokens of this step (prefill chunk, or 1 to decode)
  int32_t num_cached = 0;   // tokens already in the KV cache; positions start here
  // KV blocks covering positions [0, num_cached + num_tokens); position p lives
  // in block block_table[p / block_size] at slot p % block_size. Owned by the
  // caller and valid for the duration of Forward().
  absl::Span<const int32_t> block_table;
  LogitsMode logits = LogitsMode::kLast;
  RowSampling sampling = {};  // kSample only
};

struct Batch {
  std::vector<int32_t> token_ids;  // sequences back to back
  std::vector<SequenceSlice> sequences;
  // Fill ForwardResult::routed_experts (a request asked for its routing).
  bool return_routing = false;

  // Rows whose logits are computed: one per kSample and kLast sequence,
  // num_tokens per kAll sequence, in batch order.
  int32_t num_logit_rows() const;
  // The index in token_ids of each such row's token.
  std::vector<int32_t> logit_token_rows() const;
};

struct TokenLogprob {
  int32_t token;
  float logprob;
};

// Logprobs are the log-softmax of the raw model logits, before penalties,
// temperature and truncation, as vLLM returns them by default: they describe
// what the model predicted, not the distribution the sampler drew from.
struct SampleResult {
  int32_t token;
  float logprob;                  // of `token`
  std::vector<TokenLogprob> top;  // the params.logprobs most likely tokens, best
                                  // first, lower id first on ties
};

// The first NaN or +inf in a row of raw logits. A model that produced one
// has gone wrong for this sequence (an overflow, a bad weight): sampling
// would still return a plausible-looking token, so the engine ends the
// request instead. -inf is a valid logit (probability 0).
struct NonFiniteLogit {
  int32_t token;
  float value;
};

struct SampledRow {
  SampleResult sample;                      // meaningless when non_finite is set
  std::optional<NonFiniteLogit> non_finite;
};

// What a forward step returns.
struct ForwardResult {
  // One per kSample sequence, in batch order.
  std::vector<SampledRow> samples;
  // [rows, vocab] row-major: one row per kLast sequence and num_tokens rows
  // per kAll sequence, in batch order (kSample rows are not returned).
  std::vector<float> logits;
  int32_t vocab_size = 0;
  // [num_layers, num_experts]: tokens routed to each expert in this step (each
  // token counts once per expert it chose). Dense layers stay zero.
  std::vector<int32_t> expert_tokens;
  // With Batch::return_routing, else empty: [num_logit_rows, num_layers,
  // top_k]: for the token of each logits row (kSample ones included), the
  // experts the router chose in every layer, best first (-1 in dense
  // layers); that is, the experts that computed the token sampled from it.
  std::vector<int32_t> routed_experts;
};

}  // namespace switchyard::engine
