#include "bench/moe_gpu_shapes.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <random>

namespace switchyard::bench {

const std::vector<MoeShape>& MoeShapes() {
  static const std::vector<MoeShape> shapes = {
      {"Mixtral-8x7B", 8, 2, 4096, 14336, 0},
      {"Qwen3-30B-A3B", 128, 8, 2048, 768, 0},
      {"OLMoE-1B-7B", 64, 8, 2048, 1024, 0},
      {"DeepSeek-V2-Lite", 64, 6, 2048, 1408, 2},
  };
  return shapes;
}

const std::vector<int>& TokenCounts() {
  static const std::vector<int> counts = {1, 8, 32, 128, 512, 4096, 32768};
  return counts;
}

const char* RoutingName(Routing routing) { return routing == Routing::kUniform ? "uniform" : "zipf1.2"; }

RoutingPlan MakeRouting(const MoeShape& shape, int tokens, Routing routing, uint64_t seed) {
  const int e = shape.experts, k = std::min(shape.top_k, shape.experts);
  std::mt19937_64 rng(seed);
  RoutingPlan plan;
  plan.tokens = tokens;
  plan.groups = e + shape.shared_experts;
  plan.choices.reserve(static_cast<size_t>(tokens) * k);

  // Zipf: rank r has weight 1 / (r + 1)^s; rank r is expert perm[r].
  std::vector<int32_t> perm(e);
  std::iota(perm.begin(), perm.end(), 0);
  std::shuffle(perm.begin(), perm.end(), rng);
  std::vector<double> cdf(e);
  double total = 0;
  for (int r = 0; r < e; ++r) cdf[r] = (total += std::pow(r + 1.0, -kZipfExponent));
  std::uniform_real_distribution<double> unit(0.0, 1.0);

  std::vector<int32_t> pool(e);
  std::vector<char> taken(e);
  for (int t = 0; t < tokens; ++t) {
    if (routing == Routing::kUniform) {
      // Partial Fisher-Yates: the first k of a random permutation.
      std::iota(pool.begin(), pool.end(), 0);
      for (int i = 0; i < k; ++i) {
        std::uniform_int_distribution<int> pick(i, e - 1);
        std::swap(pool[i], pool[pick(rng)]);
        plan.choices.push_back(pool[i]);
      }
    } else {
      // Sample by rank without replacement: draw from the remaining weight.
      std::fill(taken.begin(), taken.end(), 0);
      double remaining = total;
      for (int i = 0; i < k; ++i) {
        double u = unit(rng) * remaining;
        int chosen = -1;
        for (int r = 0; r < e; ++r) {
          if (taken[r]) continue;
          const double w = cdf[r] - (r > 0 ? cdf[r - 1] : 0.0);
          chosen = r;  // the last untaken rank catches rounding
          if (u < w) break;
          u -= w;
        }
        if (chosen < 0) break;  // no experts left (k ≤ e keeps this from happening)
        taken[chosen] = 1;
        remaining -= cdf[chosen] - (chosen > 0 ? cdf[chosen - 1] : 0.0);
        plan.choices.push_back(perm[chosen]);
      }
    }
  }

  plan.counts.assign(plan.groups, 0);
  for (int32_t x : plan.choices) ++plan.counts[x];
  for (int s = 0; s < shape.shared_experts; ++s) plan.counts[e + s] = tokens;
  plan.offsets.assign(plan.groups + 1, 0);
  for (int g = 0; g < plan.groups; ++g) plan.offsets[g + 1] = plan.offsets[g] + plan.counts[g];
  plan.a_rows.assign(plan.rows(), 0);
  std::vector<int32_t> next(plan.offsets.begin(), plan.offsets.end() - 1);
  for (int t = 0; t < tokens; ++t) {
    for (int i = 0; i < k; ++i) plan.a_rows[next[plan.choices[static_cast<size_t>(t) * k + i]]++] = t;
  }
  for (int s = 0; s < shape.shared_experts; ++s) {
    for (int t = 0; t < tokens; ++t) plan.a_rows[next[e + s]++] = t;
  }
  return plan;
}

int DistinctRoutedExperts(const MoeShape& shape, const RoutingPlan& plan) {
  int n = 0;
  for (int g = 0; g < shape.experts && g < static_cast<int>(plan.counts.size()); ++g) n += plan.counts[g] > 0;
  return n;
}

int ExpertsRead(const MoeShape& shape, const RoutingPlan& plan) {
  return DistinctRoutedExperts(shape, plan) + (plan.tokens > 0 ? shape.shared_experts : 0);
}

int64_t ExpertWeightBytes(const MoeShape& shape) {
  return 3 * int64_t{shape.intermediate} * shape.hidden * 2;
}

int64_t WeightBytesRead(const MoeShape& shape, const RoutingPlan& plan) {
  return ExpertsRead(shape, plan) * ExpertWeightBytes(shape);
}

double ExpertFlops(const MoeShape& shape, const RoutingPlan& plan) {
  return 2.0 * plan.rows() * 3.0 * shape.intermediate * shape.hidden;
}

std::string TableHeader() {
  return "| model | tokens | routing | experts read | own µs | GB/s | of copy BW | TFLOP/s | of dense cuBLAS | "
         "cuBLAS grouped µs |\n"
         "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|\n";
}

std::string FormatRow(const CaseResult& r) {
  char buf[512];
  std::snprintf(buf, sizeof buf, "| %s | %d | %s | %d | %.1f | %.0f | %.2f | %.1f | %.2f | %.1f |\n",
                r.model.c_str(), r.tokens, r.routing.c_str(), r.experts_read, r.own_us, r.gbps, r.copy_fraction,
                r.tflops, r.dense_fraction, r.cublas_grouped_us);
  return buf;
}

}  // namespace switchyard::bench
