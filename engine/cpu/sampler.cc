#include "engine/cpu/sampler.h"

#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "common/check.h"
#include "engine/cpu/simd.h"
#include "engine/rng.h"

namespace switchyard::engine::cpu {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

// NaN would break the strict weak ordering that the heap and sort algorithms
// require (undefined behaviour), and +inf would turn `logit - max` into NaN.
float Sanitize(float x) {
  if (std::isnan(x)) return -kInf;
  return std::min(x, std::numeric_limits<float>::max());
}

struct Candidate {
  float logit;
  int32_t id;
  double weight;  // exp((logit - max) / temperature): probability up to a factor
};

// The total order of every selection: higher logit first, lower id on ties.
// Being total, it makes the selected sets and sorted orders, hence the walk
// order of the draw, independent of the standard library. A lambda rather than
// a function so that the algorithms inline it.
constexpr auto Better = [](const Candidate& a, const Candidate& b) {
  return a.logit != b.logit ? a.logit > b.logit : a.id < b.id;
};

// Vocabulary-sized buffers per thread rather than per Sampler: a Sampler lives
// as long as its request, and hundreds of requests may be live at once.
struct Scratch {
  std::vector<float> logits;
  std::vector<Candidate> candidates;
};
Scratch& ThreadScratch() {
  thread_local Scratch scratch;
  return scratch;
}

// The largest logit, eight lanes at a time (the row holds no NaN).
float RowMax(absl::Span<const float> logits) {
  const size_t n = logits.size(), whole = n / 8 * 8;
  __m256 best = _mm256_set1_ps(-kInf);
  for (size_t i = 0; i < whole; i += 8) best = _mm256_max_ps(best, _mm256_loadu_ps(&logits[i]));
  float lanes[8];
  _mm256_storeu_ps(lanes, best);
  float max = *std::max_element(lanes, lanes + 8);
  for (size_t i = whole; i < n; ++i) max = std::max(max, logits[i]);
  return max;
}

// The lowest id holding the largest logit.
int32_t Argmax(absl::Span<const float> logits) {
  const float max = RowMax(logits);
  const size_t n = logits.size(), whole = n / 8 * 8;
  const __m256 target = _mm256_set1_ps(max);
  size_t i = 0;
  for (; i < whole; i += 8) {
    const int hits = _mm256_movemask_ps(_mm256_cmp_ps(_mm256_loadu_ps(&logits[i]), target, _CMP_EQ_OQ));
    if (hits != 0) return static_cast<int32_t>(i + __builtin_ctz(static_cast<unsigned>(hits)));
  }
  return static_cast<int32_t>(std::find(logits.begin() + i, logits.end(), max) - logits.begin());
}

// log(sum(exp(logits))), or -inf when every logit is -inf. The terms are
// exp(logit - max) <= 1 from Exp8 and summed in double, so the sum (>= 1, the
// best token's term) is within a few float ulps of the exact one.
double LogSumExp(absl::Span<const float> logits) {
  const float max = RowMax(logits);
  if (max == -kInf) return -kInf;
  const size_t n = logits.size(), whole = n / 8 * 8;
  const __m256 shift = _mm256_set1_ps(max);
  __m256d sum_lo = _mm256_setzero_pd(), sum_hi = _mm256_setzero_pd();
  for (size_t i = 0; i < whole; i += 8) {
    const __m256 e = Exp8(_mm256_sub_ps(_mm256_loadu_ps(&logits[i]), shift));
    sum_lo = _mm256_add_pd(sum_lo, _mm256_cvtps_pd(_mm256_castps256_ps128(e)));
    sum_hi = _mm256_add_pd(sum_hi, _mm256_cvtps_pd(_mm256_extractf128_ps(e, 1)));
  }
  double lanes[4];
  _mm256_storeu_pd(lanes, _mm256_add_pd(sum_lo, sum_hi));
  double sum = lanes[0] + lanes[1] + lanes[2] + lanes[3];
  for (size_t i = whole; i < n; ++i) sum += std::exp(static_cast<double>(logits[i]) - max);
  return max + std::log(sum);
}

float LogProb(float logit, double log_sum_exp) {
  if (log_sum_exp == -kInf) return -kInf;  // no token has any probability
  return static_cast<float>(logit - log_sum_exp);
}

// The k >= 1 best of `logits`, best first, into `out`, in one pass with a heap
// of size k whose front is the worst token kept so far: most tokens cost one
// comparison, and the worst case is O(V log k) with no vocabulary-sized copy.
void SelectBest(absl::Span<const float> logits, size_t k, std::vector<Candidate>& out) {
  out.clear();
  for (size_t i = 0; i < logits.size(); ++i) {
    const Candidate c{logits[i], static_cast<int32_t>(i), 0};
    if (out.size() < k) {
      out.push_back(c);
      std::push_heap(out.begin(), out.end(), Better);
    } else if (Better(c, out.front())) {
      std::pop_heap(out.begin(), out.end(), Better);
      out.back() = c;
      std::push_heap(out.begin(), out.end(), Better);
    }
  }
  std::sort_heap(out.begin(), out.end(), Better);
}

// How many of the best candidates form the nucleus: the fewest, best first,
// whose weights reach top_p * total; the one that crosses it is kept, so the
// nucleus is never empty. Only a candidate weighing at least
// (1 - top_p) * total / n can be in it: the lighter ones together weigh less
// than (1 - top_p) * total, so the heavier ones alone reach the target. One
// partition on that bound leaves a usually small set to sort instead of the
// whole vocabulary; the rest is sorted only if rounding leaves the target
// unreached. Weight grows with the logit, so both parts sorted are `c` sorted.
size_t NucleusSize(absl::Span<Candidate> c, double total, double top_p) {
  const double target = top_p * total;
  const double bound = (1 - top_p) * total / static_cast<double>(c.size());
  const auto heavy_end =
      std::partition(c.begin(), c.end(), [&](const Candidate& x) { return x.weight >= bound; });
  double cumulative = 0;
  auto it = c.begin();
  for (const auto end : {heavy_end, c.end()}) {
    std::sort(it, end, Better);
    for (; it != end; ++it) {
      cumulative += it->weight;
      if (cumulative >= target) return static_cast<size_t>(it - c.begin()) + 1;
    }
  }
  return c.size();
}

// Inverse-CDF draw over the candidates' weights, in their current order.
int32_t Draw(absl::Span<const Candidate> c, double uniform) {
  double total = 0;
  for (const Candidate& x : c) total += x.weight;
  const double target = uniform * total;
  double cumulative = 0;
  int32_t last = c.front().id;
  for (const Candidate& x : c) {
    if (x.weight <= 0) continue;  // a zero-weight token is never drawn
    cumulative += x.weight;
    last = x.id;
    if (cumulative > target) return x.id;
  }
  return last;  // `uniform * total` rounded up to `total`
}

// Steps 2-6 of the order in sampler.h, on penalised logits.
int32_t Choose(absl::Span<const float> logits, const SamplingParams& params, uint64_t rng_state) {
  const int32_t best = Argmax(logits);
  const float max = logits[best];
  // Greedy, or no finite logit left to build a distribution from.
  if (params.temperature == 0 || max == -kInf) return best;

  std::vector<Candidate>& all = ThreadScratch().candidates;
  const size_t top_k = static_cast<size_t>(params.top_k);
  if (top_k > 0 && top_k < logits.size()) {
    SelectBest(logits, top_k, all);
  } else {
    all.resize(logits.size());
    for (size_t i = 0; i < logits.size(); ++i) all[i] = {logits[i], static_cast<int32_t>(i), 0};
  }
  absl::Span<Candidate> c = absl::MakeSpan(all);

  // Shifting by the max before dividing keeps every exponent <= 0: no overflow
  // and no NaN however small the temperature; the best token weighs exactly 1.
  const double temperature = params.temperature;
  double total = 0;
  for (Candidate& x : c) {
    x.weight = std::exp((static_cast<double>(x.logit) - max) / temperature);
    total += x.weight;
  }

  if (params.top_p < 1.0f) c = c.first(NucleusSize(c, total, params.top_p));

  // The weight is p / p_max, since the best token, always kept, weighs 1.
  if (params.min_p > 0.0f) {
    const auto kept = std::remove_if(c.begin(), c.end(), [&](const Candidate& x) {
      return x.weight < params.min_p;
    });
    c = c.first(static_cast<size_t>(kept - c.begin()));
  }

  return Draw(c, SplitMix64(rng_state).NextDouble());
}

}  // namespace

void ApplyPenalties(absl::Span<float> logits, const SamplingParams& params, absl::Span<const TokenCount> seen) {
  const float repetition = params.repetition_penalty;
  for (const TokenCount& s : seen) {
    if (s.token < 0 || static_cast<size_t>(s.token) >= logits.size()) continue;
    float& l = logits[s.token];
    if (repetition != 1.0f) l = l > 0 ? l / repetition : l * repetition;
    if (s.generated > 0) {
      // In double the product is exact, so whether the compiler fuses it into
      // an FMA cannot change the result.
      const double penalty = static_cast<double>(params.frequency_penalty) * s.generated + params.presence_penalty;
      l = static_cast<float>(l - penalty);
    }
  }
}

SampleResult SampleRow(absl::Span<const float> logits, const RowSampling& row) {
  SWITCHYARD_CHECK(!logits.empty() && row.params != nullptr);
  const SamplingParams& params = *row.params;
  // The row is read in place unless it must change: NaN and +inf sanitised
  // (the backend hands over only rows without them) or penalties applied.
  absl::Span<const float> work = logits;
  if (FindNonFiniteLogit(logits) || !row.seen.empty()) {
    std::vector<float>& copy = ThreadScratch().logits;
    copy.resize(logits.size());
    std::transform(logits.begin(), logits.end(), copy.begin(), Sanitize);
    work = copy;
  }

  // Logprobs come from the raw logits, so they are taken before the penalties.
  SampleResult result;
  const double log_sum_exp = LogSumExp(work);
  if (params.logprobs > 0) {
    std::vector<Candidate>& best = ThreadScratch().candidates;
    SelectBest(work, static_cast<size_t>(params.logprobs), best);
    for (const Candidate& c : best) result.top.push_back({c.id, LogProb(c.logit, log_sum_exp)});
  }
  if (!row.seen.empty()) ApplyPenalties(absl::MakeSpan(ThreadScratch().logits), params, row.seen);
  result.token = Choose(work, params, row.rng_state);
  result.logprob = LogProb(Sanitize(logits[result.token]), log_sum_exp);
  return result;
}

std::optional<NonFiniteLogit> FindNonFiniteLogit(absl::Span<const float> logits) {
  // NaN and +inf are the values with every exponent bit set except -inf:
  // eight lanes compared at once, the scalar search only where one hit.
  const size_t n = logits.size(), whole = n / 8 * 8;
  const __m256 inf = _mm256_set1_ps(kInf);
  size_t i = 0;
  for (; i < whole; i += 8) {
    const __m256 v = _mm256_loadu_ps(&logits[i]);
    const __m256 bad = _mm256_or_ps(_mm256_cmp_ps(v, v, _CMP_UNORD_Q), _mm256_cmp_ps(v, inf, _CMP_EQ_OQ));
    if (_mm256_movemask_ps(bad) != 0) break;
  }
  for (; i < n; ++i) {
    const float v = logits[i];
    if (std::isnan(v) || v == kInf) return NonFiniteLogit{static_cast<int32_t>(i), v};
  }
  return std::nullopt;
}

}  // namespace switchyard::engine::cpu
