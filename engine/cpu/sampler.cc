#include "engine/cpu/sampler.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "common/check.h"
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

int32_t Argmax(absl::Span<const float> logits) {
  // The best value lives in a register: comparing against logits[best] would
  // chain every iteration on a load.
  float best_value = logits[0];
  int32_t best = 0;
  for (size_t i = 1; i < logits.size(); ++i) {
    if (logits[i] > best_value) {
      best_value = logits[i];
      best = static_cast<int32_t>(i);
    }
  }
  return best;
}

// log(sum(exp(logits))), or -inf when every logit is -inf.
double LogSumExp(absl::Span<const float> logits) {
  const float max = logits[Argmax(logits)];
  if (max == -kInf) return -kInf;
  double sum = 0;
  for (float l : logits) sum += std::exp(static_cast<double>(l) - max);
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
  std::vector<float>& work = ThreadScratch().logits;
  work.resize(logits.size());
  std::transform(logits.begin(), logits.end(), work.begin(), Sanitize);

  // Logprobs come from the raw logits, so they are taken before the penalties.
  SampleResult result;
  const double log_sum_exp = LogSumExp(work);
  if (params.logprobs > 0) {
    std::vector<Candidate>& best = ThreadScratch().candidates;
    SelectBest(work, static_cast<size_t>(params.logprobs), best);
    for (const Candidate& c : best) result.top.push_back({c.id, LogProb(c.logit, log_sum_exp)});
  }

  ApplyPenalties(absl::MakeSpan(work), params, row.seen);
  result.token = Choose(work, params, row.rng_state);
  result.logprob = LogProb(Sanitize(logits[result.token]), log_sum_exp);
  return result;
}

std::optional<NonFiniteLogit> FindNonFiniteLogit(absl::Span<const float> logits) {
  for (size_t i = 0; i < logits.size(); ++i) {
    const float v = logits[i];
    if (std::isnan(v) || v == kInf) return NonFiniteLogit{static_cast<int32_t>(i), v};
  }
  return std::nullopt;
}

}  // namespace switchyard::engine::cpu
