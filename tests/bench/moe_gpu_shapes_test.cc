#include "bench/moe_gpu_shapes.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <set>

namespace switchyard::bench {
namespace {

TEST(MoeGpuShapes, TableAndTokenCounts) {
  ASSERT_EQ(MoeShapes().size(), 4u);
  EXPECT_EQ(MoeShapes()[0].experts, 8);
  EXPECT_EQ(MoeShapes()[0].intermediate, 14336);
  EXPECT_EQ(MoeShapes()[3].shared_experts, 2);
  EXPECT_EQ(TokenCounts(), (std::vector<int>{1, 8, 32, 128, 512, 4096, 32768}));
}

TEST(MoeGpuShapes, CountsSumAndOffsetsAndRowsAreConsistent) {
  for (const MoeShape& shape : MoeShapes()) {
    for (Routing routing : {Routing::kUniform, Routing::kZipf}) {
      for (int tokens : {1, 8, 512}) {
        const RoutingPlan plan = MakeRouting(shape, tokens, routing, 7);
        ASSERT_EQ(plan.groups, shape.experts + shape.shared_experts);
        int64_t routed = 0;
        for (int g = 0; g < shape.experts; ++g) routed += plan.counts[g];
        EXPECT_EQ(routed, int64_t{tokens} * shape.top_k) << shape.name;
        EXPECT_EQ(plan.rows(), tokens * (shape.top_k + shape.shared_experts));
        ASSERT_EQ(static_cast<int>(plan.a_rows.size()), plan.rows());
        for (int g = 0; g < plan.groups; ++g) {
          EXPECT_EQ(plan.offsets[g + 1] - plan.offsets[g], plan.counts[g]);
          // Rows of a group read tokens that chose it, each token at most once.
          std::set<int32_t> seen;
          for (int r = plan.offsets[g]; r < plan.offsets[g + 1]; ++r) {
            const int32_t t = plan.a_rows[r];
            ASSERT_GE(t, 0);
            ASSERT_LT(t, tokens);
            EXPECT_TRUE(seen.insert(t).second);
            if (g < shape.experts) {
              const auto* c = &plan.choices[static_cast<size_t>(t) * shape.top_k];
              EXPECT_NE(std::find(c, c + shape.top_k, g), c + shape.top_k);
            }
          }
        }
      }
    }
  }
}

TEST(MoeGpuShapes, ChoicesPerTokenAreDistinct) {
  for (Routing routing : {Routing::kUniform, Routing::kZipf}) {
    const MoeShape& qwen = MoeShapes()[1];
    const RoutingPlan plan = MakeRouting(qwen, 256, routing, 3);
    for (int t = 0; t < 256; ++t) {
      std::set<int32_t> s(plan.choices.begin() + t * qwen.top_k, plan.choices.begin() + (t + 1) * qwen.top_k);
      EXPECT_EQ(static_cast<int>(s.size()), qwen.top_k);
    }
  }
}

TEST(MoeGpuShapes, OneTokenTouchesTopKExperts) {
  for (const MoeShape& shape : MoeShapes()) {
    for (Routing routing : {Routing::kUniform, Routing::kZipf}) {
      const RoutingPlan plan = MakeRouting(shape, 1, routing, 11);
      EXPECT_EQ(DistinctRoutedExperts(shape, plan), shape.top_k);
      EXPECT_EQ(ExpertsRead(shape, plan), shape.top_k + shape.shared_experts);
    }
  }
}

TEST(MoeGpuShapes, ZipfIsSkewed) {
  const MoeShape& olmoe = MoeShapes()[2];
  const int tokens = 4096;
  const RoutingPlan uniform = MakeRouting(olmoe, tokens, Routing::kUniform, 5);
  const RoutingPlan zipf = MakeRouting(olmoe, tokens, Routing::kZipf, 5);
  const int fair = tokens * olmoe.top_k / olmoe.experts;  // 512
  const int top_zipf = *std::max_element(zipf.counts.begin(), zipf.counts.end());
  const int top_uniform = *std::max_element(uniform.counts.begin(), uniform.counts.end());
  EXPECT_GT(top_zipf, 2 * fair);
  EXPECT_LT(top_uniform, fair * 13 / 10);
  EXPECT_GT(top_zipf, top_uniform);
}

TEST(MoeGpuShapes, Deterministic) {
  const MoeShape& m = MoeShapes()[0];
  EXPECT_EQ(MakeRouting(m, 64, Routing::kZipf, 9).choices, MakeRouting(m, 64, Routing::kZipf, 9).choices);
  EXPECT_NE(MakeRouting(m, 64, Routing::kZipf, 9).choices, MakeRouting(m, 64, Routing::kZipf, 10).choices);
}

TEST(MoeGpuShapes, BytesAndFlops) {
  const MoeShape& mixtral = MoeShapes()[0];
  const RoutingPlan one = MakeRouting(mixtral, 1, Routing::kUniform, 1);
  EXPECT_EQ(WeightBytesRead(mixtral, one), 2 * int64_t{3} * 14336 * 4096 * 2);
  EXPECT_DOUBLE_EQ(ExpertFlops(mixtral, one), 2.0 * 2 * 3 * 14336.0 * 4096);
  // Many tokens read every expert once.
  const RoutingPlan many = MakeRouting(mixtral, 4096, Routing::kUniform, 1);
  EXPECT_EQ(WeightBytesRead(mixtral, many), 8 * ExpertWeightBytes(mixtral));
  // DeepSeek's shared experts are read and computed for every token.
  const MoeShape& ds = MoeShapes()[3];
  const RoutingPlan ds1 = MakeRouting(ds, 1, Routing::kZipf, 1);
  EXPECT_EQ(WeightBytesRead(ds, ds1), 8 * ExpertWeightBytes(ds));
  EXPECT_DOUBLE_EQ(ExpertFlops(ds, ds1), 2.0 * 8 * 3 * 1408.0 * 2048);
}

TEST(MoeGpuShapes, RowFormatting) {
  CaseResult r{"Mixtral-8x7B", 32, "zipf1.2", 7, 123.44, 2000.4, 0.67, 50.25, 0.1, 150.0};
  EXPECT_EQ(FormatRow(r), "| Mixtral-8x7B | 32 | zipf1.2 | 7 | 123.4 | 2000 | 0.67 | 50.2 | 0.10 | 150.0 |\n");
  EXPECT_NE(TableHeader().find("| model | tokens | routing |"), std::string::npos);
}

}  // namespace
}  // namespace switchyard::bench
