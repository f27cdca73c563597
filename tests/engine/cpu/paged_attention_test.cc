#include "engine/cpu/paged_attention.h"

#include <gtest/gtest.h>

#include <cmath>
#include <numeric>
#include <random>
#include <string>
#include <tuple>

namespace switchyard::engine::cpu {
namespace {

// A head size that leaves a tail past the eight-lane loops.
constexpr int32_t kBlock = 4, kBlocks = 32, kKvHeads = 2, kDim = 20;

// Plain causal GQA attention over one contiguous sequence.
std::vector<float> Reference(const std::vector<float>& q, const std::vector<float>& k, const std::vector<float>& v,
                             int32_t num_heads, int32_t first, int32_t count) {
  std::vector<float> out(count * num_heads * kDim);
  for (int32_t t = 0; t < count; ++t) {
    const int32_t pos = first + t;
    for (int32_t h = 0; h < num_heads; ++h) {
      const int32_t kvh = h / (num_heads / kKvHeads);
      std::vector<double> s(pos + 1);
      double mx = -1e30, z = 0;
      for (int32_t p = 0; p <= pos; ++p) {
        s[p] = 0;
        for (int32_t i = 0; i < kDim; ++i) s[p] += q[(pos * num_heads + h) * kDim + i] * k[(p * kKvHeads + kvh) * kDim + i];
        s[p] /= std::sqrt(double(kDim));
        mx = std::max(mx, s[p]);
      }
      for (double& x : s) z += (x = std::exp(x - mx));
      for (int32_t i = 0; i < kDim; ++i) {
        double acc = 0;
        for (int32_t p = 0; p <= pos; ++p) acc += s[p] / z * v[(p * kKvHeads + kvh) * kDim + i];
        out[(t * num_heads + h) * kDim + i] = static_cast<float>(acc);
      }
    }
  }
  return out;
}

// Two sequences with scattered blocks, run as a prefill chunk, a second chunk
// and decode steps mixed in one flat batch, against contiguous attention. A
// BF16 cache is compared with the reference on the same rounded K and V, so
// the bound is the same. Query heads per kv head: 1 (no grouping), 2, 3, and
// 8 and 6, which the kernel takes in parts of at most four.
class PagedAttentionTest : public ::testing::TestWithParam<std::tuple<DType, int32_t>> {};

TEST_P(PagedAttentionTest, ChunkedMixedBatchMatchesContiguous) {
  const auto [element, group] = GetParam();
  const int32_t num_heads = kKvHeads * group;
  std::mt19937 rng(1);
  std::normal_distribution<float> normal;
  const size_t cache_elements = kBlocks * kBlock * kKvHeads * kDim;
  std::vector<float> kc(cache_elements), vc(cache_elements);  // F32 storage holds BF16 too
  const KvLayerView cache{kc.data(), vc.data(), element, kBlock, kKvHeads, kDim};

  const int32_t lens[2] = {23, 9};
  std::vector<int32_t> free_blocks(kBlocks);
  std::iota(free_blocks.begin(), free_blocks.end(), 0);
  std::shuffle(free_blocks.begin(), free_blocks.end(), rng);
  std::vector<int32_t> tables[2];
  std::vector<float> q[2], k[2], v[2];
  for (int s = 0; s < 2; ++s) {
    for (int32_t b = 0; b < (lens[s] + kBlock - 1) / kBlock; ++b) {
      tables[s].push_back(free_blocks.back());
      free_blocks.pop_back();
    }
    for (auto* vec : {&q[s], &k[s], &v[s]}) {
      const int heads = vec == &q[s] ? num_heads : kKvHeads;
      vec->resize(lens[s] * heads * kDim);
      for (float& x : *vec) x = normal(rng);
      if (vec != &q[s] && element == DType::kBF16) {
        for (float& x : *vec) x = BF16ToFloat(FloatToBF16(x));  // what the cache will hold
      }
    }
  }

  // Steps: (seq0 tokens [0,10), seq1 [0,9)), (seq0 [10,22)), (seq0 [22,23) decode).
  struct Chunk { int s, first, count; };
  const std::vector<std::vector<Chunk>> steps = {{{0, 0, 10}, {1, 0, 9}}, {{0, 10, 12}}, {{0, 22, 1}}};
  for (const auto& step : steps) {
    Batch batch;
    std::vector<float> bq, bk, bv;
    for (const Chunk& c : step) {
      batch.sequences.push_back({c.count, c.first, tables[c.s], LogitsMode::kLast});
      for (int32_t t = 0; t < c.count; ++t) batch.token_ids.push_back(0);
      auto append = [&](std::vector<float>& dst, const std::vector<float>& src, int heads) {
        dst.insert(dst.end(), src.begin() + c.first * heads * kDim, src.begin() + (c.first + c.count) * heads * kDim);
      };
      append(bq, q[c.s], num_heads);
      append(bk, k[c.s], kKvHeads);
      append(bv, v[c.s], kKvHeads);
    }
    const std::vector<TokenPlace> places = PlaceTokens(batch);
    WriteKv(cache, batch, places, bk.data(), bv.data());
    std::vector<float> out(bq.size());
    PagedAttention(cache, batch, places, bq.data(), num_heads, 1.0f / std::sqrt(float(kDim)), out.data());
    size_t offset = 0;
    for (const Chunk& c : step) {
      const std::vector<float> ref = Reference(q[c.s], k[c.s], v[c.s], num_heads, c.first, c.count);
      for (size_t i = 0; i < ref.size(); ++i) {
        ASSERT_NEAR(out[offset + i], ref[i], 1e-5) << "seq " << c.s << " chunk at " << c.first << " elem " << i;
      }
      offset += ref.size();
    }
  }
}

INSTANTIATE_TEST_SUITE_P(ElementsAndGroups, PagedAttentionTest,
                         ::testing::Combine(::testing::Values(DType::kF32, DType::kBF16),
                                            ::testing::Values(1, 2, 3, 6, 8)),
                         [](const auto& info) {
                           return std::string(DTypeName(std::get<0>(info.param))) + "_group" +
                                  std::to_string(std::get<1>(info.param));
                         });

}  // namespace
}  // namespace switchyard::engine::cpu
