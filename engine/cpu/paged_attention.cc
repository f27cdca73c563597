#include "engine/cpu/paged_attention.h"

#include <immintrin.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "engine/cpu/parallel.h"
#include "engine/cpu/vec_exp.h"

namespace switchyard::engine::cpu {
namespace {

// q·k in eight lanes with two chains (the scalar loop is one serial chain
// the compiler may not reorder).
inline float Dot(const float* a, const float* b, int32_t n) {
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  int32_t i = 0;
  for (; i + 16 <= n; i += 16) {
    acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc0);
    acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), acc1);
  }
  for (; i + 8 <= n; i += 8) acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc0);
  const __m256 v = _mm256_add_ps(acc0, acc1);
  __m128 h = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  h = _mm_add_ps(h, _mm_movehl_ps(h, h));
  h = _mm_add_ss(h, _mm_movehdup_ps(h));
  float s = _mm_cvtss_f32(h);
  for (; i < n; ++i) s += a[i] * b[i];
  return s;
}

// scores[p] = exp(scores[p] - max); returns their sum.
inline float ExpShifted(float* scores, int32_t n, float max) {
  const __m256 shift = _mm256_set1_ps(max);
  __m256 sum = _mm256_setzero_ps();
  int32_t p = 0;
  for (; p + 8 <= n; p += 8) {
    const __m256 e = Exp8(_mm256_sub_ps(_mm256_loadu_ps(scores + p), shift));
    _mm256_storeu_ps(scores + p, e);
    sum = _mm256_add_ps(sum, e);
  }
  float lanes[8];
  _mm256_storeu_ps(lanes, sum);
  float total = 0.f;
  for (float l : lanes) total += l;
  for (; p < n; ++p) {
    scores[p] = std::exp(scores[p] - max);
    total += scores[p];
  }
  return total;
}

inline int64_t SlotOffset(const KvLayerView& c, const SequenceSlice& seq, int32_t pos) {
  const int64_t block = seq.block_table[pos / c.block_size];
  return (block * c.block_size + pos % c.block_size) * c.num_kv_heads * c.head_dim;
}

}  // namespace

std::vector<TokenPlace> PlaceTokens(const Batch& batch) {
  std::vector<TokenPlace> places;
  places.reserve(batch.token_ids.size());
  for (int32_t s = 0; s < static_cast<int32_t>(batch.sequences.size()); ++s) {
    const SequenceSlice& seq = batch.sequences[s];
    for (int32_t i = 0; i < seq.num_tokens; ++i) places.push_back({s, seq.num_cached + i});
  }
  return places;
}

void WriteKv(const KvLayerView& cache, const Batch& batch, absl::Span<const TokenPlace> places, const float* k,
             const float* v) {
  const int64_t row = int64_t{cache.num_kv_heads} * cache.head_dim;
  for (size_t t = 0; t < places.size(); ++t) {
    const int64_t off = SlotOffset(cache, batch.sequences[places[t].seq], places[t].pos);
    std::memcpy(cache.k + off, k + t * row, row * sizeof(float));
    std::memcpy(cache.v + off, v + t * row, row * sizeof(float));
  }
}

void PagedAttention(const KvLayerView& cache, const Batch& batch, absl::Span<const TokenPlace> places, const float* q,
                    int32_t num_heads, float scale, float* out) {
  const int32_t d = cache.head_dim;
  const int32_t group = num_heads / cache.num_kv_heads;
  const int64_t work = static_cast<int64_t>(places.size()) * num_heads;
  int64_t macs = 0;  // q·k and p·v over every attended position
  for (const TokenPlace& p : places) macs += 2 * int64_t{p.pos + 1} * num_heads * d;
#pragma omp parallel if (macs >= kMinParallelMacs)
  {
    std::vector<float> scores;
    std::vector<float> acc(d);
#pragma omp for schedule(dynamic, 4)
    for (int64_t item = 0; item < work; ++item) {
      const int64_t t = item / num_heads;
      const int32_t h = static_cast<int32_t>(item % num_heads);
      const int32_t kvh = h / group;
      const SequenceSlice& seq = batch.sequences[places[t].seq];
      const int32_t len = places[t].pos + 1;  // causal: positions [0, pos]
      const float* qh = q + (t * num_heads + h) * d;
      scores.resize(len);
      float max_score = -INFINITY;
      for (int32_t p = 0; p < len; ++p) {
        scores[p] = Dot(qh, cache.k + SlotOffset(cache, seq, p) + kvh * d, d) * scale;
        max_score = std::max(max_score, scores[p]);
      }
      const float denom = ExpShifted(scores.data(), len, max_score);
      std::fill(acc.begin(), acc.end(), 0.f);
      for (int32_t p = 0; p < len; ++p) {
        const float* vp = cache.v + SlotOffset(cache, seq, p) + kvh * d;
        const float w = scores[p];
        for (int32_t i = 0; i < d; ++i) acc[i] += w * vp[i];
      }
      float* o = out + (t * num_heads + h) * d;
      for (int32_t i = 0; i < d; ++i) o[i] = acc[i] / denom;
    }
  }
}

}  // namespace switchyard::engine::cpu
