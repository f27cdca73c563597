// Picks the next token of one request from a row of model logits.
#pragma once

#include <cstdint>
#include <optional>
#include <unordered_map>
#include <vector>

#include "absl/types/span.h"
#include "engine/rng.h"
#include "engine/sampling_params.h"

namespace switchyard::engine {

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

// Per-request sampling state: the RNG stream and the token counts the penalties
// need. Processing order, the one vLLM and HF transformers use:
//   1. penalties   - they correct the model's scores, so they act on raw logits
//                    and everything after sees the corrected ones;
//   2. temperature - it reshapes the distribution that the truncations below
//                    measure, so top-p and min-p cut the distribution actually
//                    sampled from;
//   3. top-k       - the cheapest cut (one pass with a size-k heap); it
//                    shrinks what top-p must sort;
//   4. top-p       - over the renormalised top-k survivors;
//   5. min-p       - keeps tokens with p >= min_p * p_max; truncation keeps the
//                    best token, so its threshold is the same wherever it runs;
//   6. a draw from the renormalised survivors.
// Cost per token: O(V), or O(V log k) at worst with top-k (most tokens cost one
// comparison with the heap's worst); top-p sorts only the tokens that can be in
// the nucleus (p >= (1 - top_p) / V), never the whole vocabulary.
//
// Determinism: with a seed, the RNG stream (rng.h) and every selection (a total
// order: higher logit, then lower id) are the same on every platform, and the
// probabilities are computed in double; only std::exp may differ between math
// libraries, by an ulp, which can change a draw only when the uniform number
// falls within ~1e-16 of a token boundary.
// The index of the first NaN or +inf in a row of raw logits, if any. A model
// that produced one has gone wrong for this sequence (an overflow, a bad
// weight): sampling would still return a plausible-looking token, so the
// engine ends the request instead. -inf is a valid logit (probability 0).
std::optional<size_t> FindNonFiniteLogit(absl::Span<const float> logits);

class Sampler {
 public:
  // `params` must have passed Validate(). Without a seed the stream is seeded
  // from std::random_device.
  Sampler(const SamplingParams& params, absl::Span<const int32_t> prompt_ids);

  // Picks the next token from one row of raw logits (vocab floats, not empty);
  // `logits` is not modified. NaN logits count as -inf and +inf as the largest
  // float. A row with nothing above -inf yields the lowest id.
  SampleResult Sample(absl::Span<const float> logits);

  // Records a generated token for the penalties.
  void Accept(int32_t token);

  // Applies the penalties in place, as vLLM does: a token seen in the prompt or
  // the output has its logit divided by repetition_penalty if positive, else
  // multiplied; then a token generated n > 0 times loses
  // frequency_penalty * n + presence_penalty. Ids outside `logits` are ignored.
  void ApplyPenalties(absl::Span<float> logits) const;

 private:
  int32_t Choose(absl::Span<const float> logits);

  SamplingParams params_;
  SplitMix64 rng_;
  // Token -> times generated; prompt tokens are keys with 0 (recorded only when
  // the repetition penalty, their only user, is on).
  std::unordered_map<int32_t, int32_t> seen_;
};

}  // namespace switchyard::engine
