#include "engine/dispatch_plan.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <random>

#include "engine/routing.h"

namespace switchyard::engine {
namespace {

using ::testing::ElementsAre;

// The naive reference: for each expert in order, scan all assignments.
void CheckAgainstNaive(const std::vector<int32_t>& ids, int32_t T, int32_t k, int32_t E) {
  DispatchPlan plan;
  BuildDispatchPlan(ids, T, k, E, &plan);
  int32_t row = 0;
  for (int32_t e = 0; e < E; ++e) {
    ASSERT_EQ(plan.expert_offsets[e], row);
    int32_t count = 0;
    for (int32_t a = 0; a < T * k; ++a) {
      if (ids[a] != e) continue;
      ASSERT_EQ(plan.row_token[row], a / k) << "expert " << e << " row " << row;
      ASSERT_EQ(plan.assignment_row[a], row);
      ++row;
      ++count;
    }
    ASSERT_EQ(plan.expert_counts[e], count);
  }
  ASSERT_EQ(plan.expert_offsets[E], T * k);
}

TEST(DispatchPlanTest, SmallExample) {
  // 3 tokens, top-2, 4 experts.
  const std::vector<int32_t> ids = {2, 0, 0, 3, 2, 3};
  DispatchPlan plan;
  BuildDispatchPlan(ids, 3, 2, 4, &plan);
  EXPECT_THAT(plan.expert_counts, ElementsAre(2, 0, 2, 2));
  EXPECT_THAT(plan.expert_offsets, ElementsAre(0, 2, 2, 4, 6));
  EXPECT_THAT(plan.row_token, ElementsAre(0, 1, 0, 2, 1, 2));
  EXPECT_THAT(plan.assignment_row, ElementsAre(2, 0, 1, 4, 3, 5));
}

TEST(DispatchPlanTest, MatchesNaiveOnRandomRoutings) {
  std::mt19937 rng(7);
  for (int trial = 0; trial < 300; ++trial) {
    const int32_t E = 1 + rng() % 70, k = 1 + rng() % std::min<int32_t>(E, 8), T = rng() % 50;
    std::vector<int32_t> ids(T * k);
    for (int32_t t = 0; t < T; ++t) {
      // distinct experts per token, as top-k produces
      std::vector<int32_t> perm(E);
      std::iota(perm.begin(), perm.end(), 0);
      std::shuffle(perm.begin(), perm.end(), rng);
      for (int32_t j = 0; j < k; ++j) ids[t * k + j] = perm[j];
    }
    CheckAgainstNaive(ids, T, k, E);
  }
}

TEST(DispatchPlanTest, OneExpertTakesEverything) {
  std::vector<int32_t> ids(40, 5);
  CheckAgainstNaive(ids, 40, 1, 9);
}

TEST(RoutingTest, SoftmaxTopKRenormalised) {
  const float logits[] = {0.f, 2.f, 1.f, -1.f};
  Routing r;
  RouteTopK(logits, 1, 4, 2, /*renormalize=*/true, &r);
  EXPECT_THAT(r.expert_ids, ElementsAre(1, 2));
  const double e1 = std::exp(2.0), e2 = std::exp(1.0);
  EXPECT_NEAR(r.weights[0], e1 / (e1 + e2), 1e-6);
  EXPECT_NEAR(r.weights[1], e2 / (e1 + e2), 1e-6);
}

TEST(RoutingTest, WithoutRenormalisationKeepsSoftmaxProbabilities) {
  const float logits[] = {0.f, 2.f, 1.f, -1.f};
  Routing r;
  RouteTopK(logits, 1, 4, 1, /*renormalize=*/false, &r);
  const double z = 1 + std::exp(2.0) + std::exp(1.0) + std::exp(-1.0);
  EXPECT_THAT(r.expert_ids, ElementsAre(1));
  EXPECT_NEAR(r.weights[0], std::exp(2.0) / z, 1e-6);
}

TEST(RoutingTest, TiesBreakTowardsLowerIndex) {
  const float logits[] = {1.f, 3.f, 3.f, 1.f, 3.f, 0.f};
  Routing r;
  RouteTopK(logits, 1, 6, 4, true, &r);
  EXPECT_THAT(r.expert_ids, ElementsAre(1, 2, 4, 0));
}

TEST(RoutingTest, MatchesSortOnRandomLogits) {
  std::mt19937 rng(3);
  std::normal_distribution<float> normal;
  for (int trial = 0; trial < 200; ++trial) {
    const int32_t E = 2 + rng() % 64, k = 1 + rng() % std::min<int32_t>(E, 8);
    std::vector<float> logits(E);
    for (float& v : logits) v = normal(rng);
    Routing r;
    RouteTopK(logits.data(), 1, E, k, false, &r);
    std::vector<int32_t> order(E);
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return logits[a] > logits[b]; });
    for (int32_t j = 0; j < k; ++j) ASSERT_EQ(r.expert_ids[j], order[j]);
  }
}

}  // namespace
}  // namespace switchyard::engine
