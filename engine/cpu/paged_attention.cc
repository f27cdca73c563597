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

// The q·k of N query heads of one group (q: N rows of d, one after the
// other) with one key, widened once for all of them: out[j] = q[j]·k. Per
// head the arithmetic is the same, in eight lanes with two chains (the scalar
// loop is one serial chain the compiler may not reorder); across heads, 2·N
// independent chains keep both FMA ports busy.
template <int N, typename T>
void DotHeads(const float* q, const T* k, int32_t d, float* out) {
  __m256 acc0[N], acc1[N];
  for (int j = 0; j < N; ++j) acc0[j] = acc1[j] = _mm256_setzero_ps();
  int32_t i = 0;
  for (; i + 16 <= d; i += 16) {
    const __m256 k0 = Load8(k + i), k1 = Load8(k + i + 8);
    for (int j = 0; j < N; ++j) {
      acc0[j] = _mm256_fmadd_ps(_mm256_loadu_ps(q + j * d + i), k0, acc0[j]);
      acc1[j] = _mm256_fmadd_ps(_mm256_loadu_ps(q + j * d + i + 8), k1, acc1[j]);
    }
  }
  for (; i + 8 <= d; i += 8) {
    const __m256 k0 = Load8(k + i);
    for (int j = 0; j < N; ++j) acc0[j] = _mm256_fmadd_ps(_mm256_loadu_ps(q + j * d + i), k0, acc0[j]);
  }
  for (int j = 0; j < N; ++j) {
    float s = HorizontalSum(_mm256_add_ps(acc0[j], acc1[j]));
    for (int32_t r = i; r < d; ++r) s += q[j * d + r] * Widen(k[r]);
    out[j] = s;
  }
}

// acc[j][i] += w[j] · v[i] for N heads (acc: N rows of d), v widened once.
template <int N, typename T>
void AddScaledHeads(float* acc, const float* w, const T* v, int32_t d) {
  __m256 wv[N];
  for (int j = 0; j < N; ++j) wv[j] = _mm256_set1_ps(w[j]);
  int32_t i = 0;
  for (; i + 8 <= d; i += 8) {
    const __m256 x = Load8(v + i);
    for (int j = 0; j < N; ++j) {
      _mm256_storeu_ps(acc + j * d + i, _mm256_fmadd_ps(wv[j], x, _mm256_loadu_ps(acc + j * d + i)));
    }
  }
  for (; i < d; ++i) {
    const float x = Widen(v[i]);
    for (int j = 0; j < N; ++j) acc[j * d + i] += w[j] * x;
  }
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

// Heads attended together: they share each key and value load. A group
// larger than this (Qwen3-30B-A3B has 8 heads per kv head) goes in parts.
constexpr int32_t kMaxHeadsTogether = 4;

// One token's attention for N query heads of one kv head.
struct HeadsOfOneToken {
  const SequenceSlice* seq;
  int32_t len;        // positions [0, len) attended (causal)
  int32_t kv_head;
  const float* q;     // N rows of head_dim
  float* out;         // N rows of head_dim
};

// Per-thread scratch, reused across items.
struct AttendScratch {
  std::vector<float> scores;  // N rows of len
  std::vector<float> acc;     // N rows of head_dim
};

template <int N, typename T>
void AttendHeads(const KvLayerView& cache, const HeadsOfOneToken& w, float scale, AttendScratch& scratch) {
  const int32_t d = cache.head_dim;
  const int64_t row = int64_t{cache.num_kv_heads} * d;  // one position's K (or V), all kv heads
  const int32_t len = w.len;
  scratch.scores.resize(static_cast<size_t>(N) * len);
  float* scores = scratch.scores.data();
  float max_score[N];
  for (int j = 0; j < N; ++j) max_score[j] = -INFINITY;
  // Block by block, so that a position's slot is an add, not a division.
  for (int32_t start = 0; start < len; start += cache.block_size) {
    const T* k = static_cast<const T*>(cache.k) + BlockOffset(cache, *w.seq, start) + w.kv_head * d;
    const int32_t end = std::min(len, start + cache.block_size);
    for (int32_t p = start; p < end; ++p, k += row) {
      float s[N];
      DotHeads<N>(w.q, k, d, s);
      for (int j = 0; j < N; ++j) {
        scores[j * len + p] = s[j] * scale;
        max_score[j] = std::max(max_score[j], scores[j * len + p]);
      }
    }
  }
  float denom[N];
  for (int j = 0; j < N; ++j) denom[j] = ExpShifted(scores + j * len, len, max_score[j]);
  scratch.acc.assign(static_cast<size_t>(N) * d, 0.f);
  for (int32_t start = 0; start < len; start += cache.block_size) {
    const T* v = static_cast<const T*>(cache.v) + BlockOffset(cache, *w.seq, start) + w.kv_head * d;
    const int32_t end = std::min(len, start + cache.block_size);
    for (int32_t p = start; p < end; ++p, v += row) {
      float weight[N];
      for (int j = 0; j < N; ++j) weight[j] = scores[j * len + p];
      AddScaledHeads<N>(scratch.acc.data(), weight, v, d);
    }
  }
  for (int j = 0; j < N; ++j) {
    for (int32_t i = 0; i < d; ++i) w.out[j * d + i] = scratch.acc[j * d + i] / denom[j];
  }
}

template <typename T>
void Attend(const KvLayerView& cache, const Batch& batch, absl::Span<const TokenPlace> places, const float* q,
            int32_t num_heads, float scale, float* out) {
  const int32_t d = cache.head_dim;
  const int32_t group = num_heads / cache.num_kv_heads;
  // One item per token and kv head: the group's query heads share its keys.
  const int64_t work = static_cast<int64_t>(places.size()) * cache.num_kv_heads;
  int64_t macs = 0;  // q·k and p·v over every attended position
  for (const TokenPlace& p : places) macs += 2 * int64_t{p.pos + 1} * num_heads * d;
#pragma omp parallel if (macs >= kMinParallelMacs)
  {
    AttendScratch scratch;
#pragma omp for schedule(dynamic, 2)
    for (int64_t item = 0; item < work; ++item) {
      const int64_t t = item / cache.num_kv_heads;
      const int32_t kvh = static_cast<int32_t>(item % cache.num_kv_heads);
      for (int32_t first = 0; first < group; first += kMaxHeadsTogether) {
        const int64_t h = t * num_heads + int64_t{kvh} * group + first;
        const HeadsOfOneToken w{&batch.sequences[places[t].seq], places[t].pos + 1, kvh, q + h * d, out + h * d};
        switch (std::min(kMaxHeadsTogether, group - first)) {
          case 4: AttendHeads<4, T>(cache, w, scale, scratch); break;
          case 3: AttendHeads<3, T>(cache, w, scale, scratch); break;
          case 2: AttendHeads<2, T>(cache, w, scale, scratch); break;
          default: AttendHeads<1, T>(cache, w, scale, scratch); break;
        }
      }
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
