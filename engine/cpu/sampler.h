// Sampling on the CPU: one request's next token from a row of model logits,
// given the request's RowSampling (batch.h). The CPU backend's, and the
// reference the CUDA sampler is tested against.
#pragma once

#include <cstdint>
#include <optional>

#include "absl/types/span.h"
#include "engine/batch.h"
#include "engine/sampling_params.h"

namespace switchyard::engine::cpu {

// Processing order, the one vLLM and HF transformers use:
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
// Cost per token: a greedy request without penalties reads its row four
// times, vectorised (the non-finite check, the max, the log-sum-exp of the
// token's logprob, the argmax), ~0.1 ms for 152k tokens; otherwise O(V), or O(V log k) at worst with top-k (most tokens
// cost one comparison with the heap's worst); top-p sorts only the tokens
// that can be in the nucleus (p >= (1 - top_p) / V), never the whole
// vocabulary.
//
// Determinism: with a seed, the RNG stream (rng.h) and every selection (a total
// order: higher logit, then lower id) are the same on every platform, and the
// probabilities of a draw are computed in double; only std::exp may differ between math
// libraries, by an ulp, which can change a draw only when the uniform number
// falls within ~1e-16 of a token boundary.
//
// `logits` (vocab floats, not empty) is not modified. NaN logits count as -inf
// and +inf as the largest float. A row with nothing above -inf yields the
// lowest id.
SampleResult SampleRow(absl::Span<const float> logits, const RowSampling& row);

// Applies the penalties in place, as vLLM does: a token in `seen` has its
// logit divided by repetition_penalty if positive, else multiplied; then a
// token generated n > 0 times loses frequency_penalty * n + presence_penalty.
// Ids outside `logits` are ignored.
void ApplyPenalties(absl::Span<float> logits, const SamplingParams& params, absl::Span<const TokenCount> seen);

// The first NaN or +inf in a row of raw logits, if any (NonFiniteLogit).
std::optional<NonFiniteLogit> FindNonFiniteLogit(absl::Span<const float> logits);

}  // namespace switchyard::engine::cpu
