#include "engine/cuda/topk_routing.h"

#include "absl/strings/str_cat.h"
#include "engine/cuda/cuda_status.h"

namespace switchyard::engine::cuda {
namespace {

// One thread per token, the CPU's algorithm step for step: softmax in float,
// then insertion into a sorted list of k where only a strictly greater
// probability moves ahead, so equal probabilities keep the lower index first.
__global__ void TopKRoutingKernel(TopKRoutingParams p) {
  const int64_t t = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (t >= p.num_tokens) return;
  const float* logits = p.logits + t * p.num_experts;
  float max_logit = logits[0];
  for (int e = 1; e < p.num_experts; ++e) max_logit = fmaxf(max_logit, logits[e]);
  float sum = 0.f;
  for (int e = 0; e < p.num_experts; ++e) sum += expf(logits[e] - max_logit);

  int32_t ids[kMaxTopK];
  float w[kMaxTopK];
  const int k = p.top_k;
  int filled = 0;
  for (int e = 0; e < p.num_experts; ++e) {
    const float prob = expf(logits[e] - max_logit) / sum;
    if (filled == k && !(prob > w[k - 1])) continue;
    int pos = filled < k ? filled++ : k - 1;
    while (pos > 0 && prob > w[pos - 1]) {
      w[pos] = w[pos - 1];
      ids[pos] = ids[pos - 1];
      --pos;
    }
    w[pos] = prob;
    ids[pos] = e;
  }
  float total = 1.f;
  if (p.renormalize) {
    total = 0.f;
    for (int j = 0; j < k; ++j) total += w[j];
  }
  for (int j = 0; j < k; ++j) {
    p.expert_ids[t * k + j] = ids[j];
    p.weights[t * k + j] = p.renormalize ? w[j] / total : w[j];
  }
}

__global__ void GatherRoutedKernel(GatherRoutedParams p) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= static_cast<int64_t>(p.num_rows) * p.top_k) return;
  const int64_t r = i / p.top_k, j = i % p.top_k;
  p.routed[(r * p.num_layers + p.layer) * p.top_k + j] = p.expert_ids[static_cast<int64_t>(p.rows[r]) * p.top_k + j];
}

}  // namespace

absl::Status TopKRouting(const TopKRoutingParams& p, cudaStream_t stream) {
  if (p.top_k < 1 || p.top_k > kMaxTopK || p.top_k > p.num_experts) {
    return absl::InvalidArgumentError(
        absl::StrCat("top_k ", p.top_k, " must be in [1, min(", kMaxTopK, ", experts ", p.num_experts, ")]"));
  }
  if (p.num_tokens == 0) return absl::OkStatus();
  constexpr int kThreads = 128;
  TopKRoutingKernel<<<(p.num_tokens + kThreads - 1) / kThreads, kThreads, 0, stream>>>(p);
  return CheckLaunch("TopKRoutingKernel");
}

absl::Status GatherRoutedExperts(const GatherRoutedParams& p, cudaStream_t stream) {
  const int64_t n = static_cast<int64_t>(p.num_rows) * p.top_k;
  if (n == 0) return absl::OkStatus();
  constexpr int kThreads = 128;
  GatherRoutedKernel<<<static_cast<unsigned>((n + kThreads - 1) / kThreads), kThreads, 0, stream>>>(p);
  return CheckLaunch("GatherRoutedKernel");
}

}  // namespace switchyard::engine::cuda
