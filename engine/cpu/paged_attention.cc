#include "engine/cpu/paged_attention.h"

#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "engine/cpu/parallel.h"
#include "engine/cpu/simd.h"

namespace switchyard::engine::cpu {
namespace {

// Eight cache elements as floats: F32 as they are, BF16 widened exactly.
inline __m256 Load8(const float* p) { return _mm256_loadu_ps(p); }
inline __m256 Load8(const uint16_t* p) {
  const __m256i wide = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  return _mm256_castsi256_ps(_mm256_slli_epi32(wide, 16));
}
inline float Widen(float v) { return v; }
inline float Widen(uint16_t v) { return BF16ToFloat(v); }

// q·k in eight lanes with two chains (the scalar loop is one serial chain
// the compiler may not reorder).
template <typename T>
float Dot(const float* a, const T* b, int32_t n) {
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  int32_t i = 0;
  for (; i + 16 <= n; i += 16) {
    acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), Load8(b + i), acc0);
    acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), Load8(b + i + 8), acc1);
  }
  for (; i + 8 <= n; i += 8) acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), Load8(b + i), acc0);
  float s = HorizontalSum(_mm256_add_ps(acc0, acc1));
  for (; i < n; ++i) s += a[i] * Widen(b[i]);
  return s;
}

// acc[i] += w · v[i].
template <typename T>
void AddScaled(float* acc, float w, const T* v, int32_t n) {
  const __m256 wv = _mm256_set1_ps(w);
  int32_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(acc + i, _mm256_fmadd_ps(wv, Load8(v + i), _mm256_loadu_ps(acc + i)));
  for (; i < n; ++i) acc[i] += w * Widen(v[i]);
}

void Store(const float* src, int64_t n, float* dst) { std::memcpy(dst, src, n * sizeof(float)); }
void Store(const float* src, int64_t n, uint16_t* dst) {
  for (int64_t i = 0; i < n; ++i) dst[i] = FloatToBF16(src[i]);
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

// The offset of the block that holds `block_start` (a multiple of the block
// size), at its first slot.
inline int64_t BlockOffset(const KvLayerView& c, const SequenceSlice& seq, int32_t block_start) {
  return int64_t{seq.block_table[block_start / c.block_size]} * c.block_size * c.num_kv_heads * c.head_dim;
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

namespace {

template <typename T>
void WriteKvAs(const KvLayerView& cache, const Batch& batch, absl::Span<const TokenPlace> places, const float* k,
               const float* v) {
  const int64_t row = int64_t{cache.num_kv_heads} * cache.head_dim;
  for (size_t t = 0; t < places.size(); ++t) {
    const int64_t off = SlotOffset(cache, batch.sequences[places[t].seq], places[t].pos);
    Store(k + t * row, row, static_cast<T*>(cache.k) + off);
    Store(v + t * row, row, static_cast<T*>(cache.v) + off);
  }
}

template <typename T>
void Attend(const KvLayerView& cache, const Batch& batch, absl::Span<const TokenPlace> places, const float* q,
            int32_t num_heads, float scale, float* out) {
  const T* k_cache = static_cast<const T*>(cache.k);
  const T* v_cache = static_cast<const T*>(cache.v);
  const int32_t d = cache.head_dim;
  const int32_t group = num_heads / cache.num_kv_heads;
  const int64_t row = int64_t{cache.num_kv_heads} * d;  // one position's K (or V), all heads
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
      // Block by block, so that a position's slot is an add, not a division
      // (which cost more than the 128-element q·k itself).
      for (int32_t start = 0; start < len; start += cache.block_size) {
        const T* k = k_cache + BlockOffset(cache, seq, start) + kvh * d;
        const int32_t end = std::min(len, start + cache.block_size);
        for (int32_t p = start; p < end; ++p, k += row) {
          scores[p] = Dot(qh, k, d) * scale;
          max_score = std::max(max_score, scores[p]);
        }
      }
      const float denom = ExpShifted(scores.data(), len, max_score);
      std::fill(acc.begin(), acc.end(), 0.f);
      for (int32_t start = 0; start < len; start += cache.block_size) {
        const T* v = v_cache + BlockOffset(cache, seq, start) + kvh * d;
        const int32_t end = std::min(len, start + cache.block_size);
        for (int32_t p = start; p < end; ++p, v += row) AddScaled(acc.data(), scores[p], v, d);
      }
      float* o = out + (t * num_heads + h) * d;
      for (int32_t i = 0; i < d; ++i) o[i] = acc[i] / denom;
    }
  }
}

}  // namespace

void WriteKv(const KvLayerView& cache, const Batch& batch, absl::Span<const TokenPlace> places, const float* k,
             const float* v) {
  if (cache.element == DType::kBF16) return WriteKvAs<uint16_t>(cache, batch, places, k, v);
  WriteKvAs<float>(cache, batch, places, k, v);
}

void PagedAttention(const KvLayerView& cache, const Batch& batch, absl::Span<const TokenPlace> places, const float* q,
                    int32_t num_heads, float scale, float* out) {
  if (cache.element == DType::kBF16) return Attend<uint16_t>(cache, batch, places, q, num_heads, scale, out);
  Attend<float>(cache, batch, places, q, num_heads, scale, out);
}

}  // namespace switchyard::engine::cpu
