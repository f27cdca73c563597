#include "engine/cuda/sampling.h"

#include <algorithm>
#include <cmath>

#include "engine/cuda/block_reduce.cuh"
#include "engine/cuda/cuda_status.h"
#include "engine/rng.h"

namespace switchyard::engine::cuda {
namespace {

constexpr int kThreads = 256;

// The CPU sampler's total order: higher logit first, lower id on ties.
__device__ inline bool Better(float v, int32_t i, float best_v, int32_t best_i) {
  return v > best_v || (v == best_v && i < best_i);
}

struct Best {
  float value;
  int32_t index;  // `vocab` when nothing qualified
};

// The block's best (value, index) pair; every thread gets it.
__device__ Best BlockBest(float v, int32_t i) {
  __shared__ float values[32];
  __shared__ int32_t indices[32];
  for (int offset = 16; offset > 0; offset /= 2) {
    const float ov = __shfl_xor_sync(0xffffffffu, v, offset);
    const int32_t oi = __shfl_xor_sync(0xffffffffu, i, offset);
    if (Better(ov, oi, v, i)) v = ov, i = oi;
  }
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, warps = blockDim.x / 32;
  __syncthreads();  // the arrays may still be read by a previous call
  if (lane == 0) values[warp] = v, indices[warp] = i;
  __syncthreads();
  Best best{values[0], indices[0]};
  for (int w = 1; w < warps; ++w) {
    if (Better(values[w], indices[w], best.value, best.index)) best = {values[w], indices[w]};
  }
  return best;
}

// Inclusive prefix sum of `v` over the block in thread order; `total` gets
// the block's sum. Every thread must call it.
__device__ float BlockInclusiveScan(float v, float& total) {
  __shared__ float warp_sums[32];
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, warps = blockDim.x / 32;
  for (int offset = 1; offset < 32; offset *= 2) {
    const float n = __shfl_up_sync(0xffffffffu, v, offset);
    if (lane >= offset) v += n;
  }
  __syncthreads();
  if (lane == 31) warp_sums[warp] = v;
  __syncthreads();
  if (warp == 0) {
    float s = lane < warps ? warp_sums[lane] : 0.f;
    for (int offset = 1; offset < 32; offset *= 2) {
      const float n = __shfl_up_sync(0xffffffffu, s, offset);
      if (lane >= offset) s += n;
    }
    warp_sums[lane] = s;
  }
  __syncthreads();
  total = warp_sums[warps - 1];
  return v + (warp > 0 ? warp_sums[warp - 1] : 0.f);
}

// Floats as unsigned keys in the same order (-inf lowest, NaN never here).
__device__ inline uint32_t OrderedKey(float f) {
  const uint32_t u = __float_as_uint(f);
  return (u & 0x80000000u) != 0 ? ~u : (u | 0x80000000u);
}

__device__ inline float LogProb(float logit, float log_sum_exp) {
  return log_sum_exp == -INFINITY ? -INFINITY : logit - log_sum_exp;
}

// What a row's truncations keep, and each token's weight exp((l - max) / T).
struct Truncation {
  const float* row;
  int32_t vocab;
  float max;
  float inv_temperature;
  uint32_t floor_key;  // keys below are cut (top-k, then top-p)
  float min_weight;    // weights below are cut (min-p: the best weighs 1)

  __device__ float Weight(int32_t i) const { return __expf((row[i] - max) * inv_temperature); }
  __device__ float Kept(int32_t i) const {
    if (OrderedKey(row[i]) < floor_key) return 0.f;
    const float w = Weight(i);
    return w >= min_weight ? w : 0.f;
  }
  // The largest key t >= floor_key such that the tokens with keys >= t
  // weigh at least `target` (by count, or by weight): a binary search whose
  // every step is one pass over the row.
  __device__ uint32_t Threshold(float target, bool by_count) const {
    uint32_t lo = floor_key, hi = 0xffffffffu;
    while (lo < hi) {
      const uint32_t mid = lo + (hi - lo) / 2 + 1;
      float mass = 0.f;
      for (int32_t i = threadIdx.x; i < vocab; i += blockDim.x) {
        if (OrderedKey(row[i]) >= mid) mass += by_count ? 1.f : Weight(i);
      }
      if (BlockSum(mass) >= target) {
        lo = mid;
      } else {
        hi = mid - 1;
      }
    }
    return lo;
  }
};

// The token whose cumulative kept weight, in id order, first exceeds
// `uniform` times the total; the last kept token if rounding leaves none.
__device__ int32_t Draw(const Truncation& t, double uniform) {
  float total = 0.f;
  for (int32_t i = threadIdx.x; i < t.vocab; i += blockDim.x) total += t.Kept(i);
  const float target = static_cast<float>(uniform * BlockSum(total));
  float running = 0.f;
  int32_t last_kept = -1;
  for (int32_t base = 0; base < t.vocab; base += blockDim.x) {
    const int32_t i = base + threadIdx.x;
    const float w = i < t.vocab ? t.Kept(i) : 0.f;
    float chunk = 0.f;
    const float inclusive = BlockInclusiveScan(w, chunk);
    // The first kept token past the target: a suffix of the chunk passes it.
    const int32_t hit = BlockMin(w > 0.f && running + inclusive > target ? i : INT32_MAX);
    if (hit != INT32_MAX) return hit;
    last_kept = max(last_kept, -BlockMin(w > 0.f ? -i : 1));
    running += chunk;
  }
  return last_kept;
}

__global__ void SampleRowsKernel(SampleRowsParams p) {
  const DeviceRowSampling s = p.rows[blockIdx.x];
  float* row = p.logits + static_cast<int64_t>(s.logits_row - p.first_logits_row) * p.vocab;
  DeviceSample* out = p.out + blockIdx.x;
  const int32_t V = p.vocab;

  // A NaN or +inf means the model went wrong for this sequence: report it.
  int32_t bad = INT32_MAX;
  for (int32_t i = threadIdx.x; i < V && bad == INT32_MAX; i += blockDim.x) {
    if (isnan(row[i]) || row[i] == INFINITY) bad = i;
  }
  bad = BlockMin(bad);
  if (bad != INT32_MAX) {
    if (threadIdx.x == 0) {
      out->token = 0;
      out->logprob = 0;
      out->non_finite_token = bad;
      out->non_finite_value = row[bad];
      out->num_top = 0;
    }
    return;
  }

  // Logprobs describe the raw logits.
  float mx = -INFINITY;
  for (int32_t i = threadIdx.x; i < V; i += blockDim.x) mx = fmaxf(mx, row[i]);
  mx = BlockMax(mx);
  float sum = 0.f;
  if (mx != -INFINITY) {
    for (int32_t i = threadIdx.x; i < V; i += blockDim.x) sum += __expf(row[i] - mx);
  }
  sum = BlockSum(sum);
  const float log_sum_exp = mx == -INFINITY ? -INFINITY : mx + logf(sum);
  // The n best, one pass each: the best of those after the previous one.
  const int32_t num_top = min(s.num_logprobs, V);
  Best previous{INFINITY, -1};
  for (int32_t n = 0; n < num_top; ++n) {
    float v = -INFINITY;
    int32_t index = V;
    for (int32_t i = threadIdx.x; i < V; i += blockDim.x) {
      if (Better(previous.value, previous.index, row[i], i) && Better(row[i], i, v, index)) v = row[i], index = i;
    }
    previous = BlockBest(v, index);
    if (threadIdx.x == 0) {
      out->top_tokens[n] = previous.index;
      out->top_logprobs[n] = LogProb(previous.value, log_sum_exp);
    }
  }

  // Penalties, in place; each penalised token once, so no two threads meet.
  const TokenCount* seen = p.seen + s.seen_begin;
  float* seen_raw = p.seen_raw + s.seen_begin;
  for (int32_t j = threadIdx.x; j < s.seen_count; j += blockDim.x) {
    float l = row[seen[j].token];
    seen_raw[j] = l;
    if (s.repetition_penalty != 1.f) l = l > 0 ? l / s.repetition_penalty : l * s.repetition_penalty;
    if (seen[j].generated > 0) {
      l = static_cast<float>(l - (static_cast<double>(s.frequency_penalty) * seen[j].generated + s.presence_penalty));
    }
    row[seen[j].token] = l;
  }
  __syncthreads();

  float v = -INFINITY;
  int32_t index = V;
  for (int32_t i = threadIdx.x; i < V; i += blockDim.x) {
    if (Better(row[i], i, v, index)) v = row[i], index = i;
  }
  const Best best = BlockBest(v, index);
  int32_t token = best.index < V ? best.index : 0;  // a row of -inf: the lowest id
  if (s.temperature != 0.f && best.value != -INFINITY) {
    Truncation t{row, V, best.value, 1.f / s.temperature, 0u, s.min_p};
    if (s.top_k > 0 && s.top_k < V) t.floor_key = t.Threshold(static_cast<float>(s.top_k), /*by_count=*/true);
    if (s.top_p < 1.f) {
      float total = 0.f;
      for (int32_t i = threadIdx.x; i < V; i += blockDim.x) {
        if (OrderedKey(row[i]) >= t.floor_key) total += t.Weight(i);
      }
      t.floor_key = t.Threshold(s.top_p * BlockSum(total), /*by_count=*/false);
    }
    token = Draw(t, SplitMix64(s.rng_state).NextDouble());
  }

  // The token's logprob is of its raw logit, from before the penalties.
  __shared__ float raw;
  if (threadIdx.x == 0) raw = row[token];
  __syncthreads();
  for (int32_t j = threadIdx.x; j < s.seen_count; j += blockDim.x) {
    if (seen[j].token == token) raw = seen_raw[j];
  }
  __syncthreads();
  if (threadIdx.x == 0) {
    out->token = token;
    out->logprob = LogProb(raw, log_sum_exp);
    out->non_finite_token = -1;
    out->non_finite_value = 0;
    out->num_top = num_top;
  }
}

}  // namespace

absl::Status SampleRows(const SampleRowsParams& p, cudaStream_t stream) {
  if (p.num_rows == 0) return absl::OkStatus();
  // Whole warps, and no more of them than a small vocabulary can use.
  const int threads = std::min(kThreads, (p.vocab + 31) / 32 * 32);
  SampleRowsKernel<<<p.num_rows, threads, 0, stream>>>(p);
  return CheckLaunch("SampleRowsKernel");
}

}  // namespace switchyard::engine::cuda
