// The device memory plan: what the KV cache gets, and the start-up error
// when the model does not fit.
#include "engine/cuda/memory_plan.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace switchyard::engine::cuda {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

constexpr int64_t kMiB = int64_t{1} << 20;

DeviceMemoryNeeds Needs() { return {100 * kMiB, 10 * kMiB, 1 * kMiB, 20 * kMiB}; }

KvCacheConfig Kv(int32_t num_blocks, int64_t memory_bytes, double fraction) {
  KvCacheConfig kv;
  kv.num_blocks = num_blocks;
  kv.memory_bytes = memory_bytes;
  kv.device_memory_fraction = fraction;
  return kv;
}

TEST(MemoryPlanTest, ExplicitBlockCountIsKeptWhenItFits) {
  auto plan = PlanDeviceMemory(Needs(), Kv(50, 0, 0), 1000 * kMiB);
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_EQ(plan->num_kv_blocks, 50);
  EXPECT_EQ(plan->kv_cache_bytes, 50 * kMiB);
}

TEST(MemoryPlanTest, FractionOfWhatIsLeftAfterWeightsWorkspaceAndReserve) {
  // 1000 - 130 = 870 MiB left; half of it is 435 blocks of 1 MiB.
  auto plan = PlanDeviceMemory(Needs(), Kv(0, kMiB, 0.5), 1000 * kMiB);
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_EQ(plan->num_kv_blocks, 435);
}

TEST(MemoryPlanTest, MemoryBytesIsCappedByWhatIsLeft) {
  auto small = PlanDeviceMemory(Needs(), Kv(0, 64 * kMiB + 5, 0), 1000 * kMiB);
  ASSERT_TRUE(small.ok());
  EXPECT_EQ(small->num_kv_blocks, 64);
  auto large = PlanDeviceMemory(Needs(), Kv(0, 100000 * kMiB, 0), 1000 * kMiB);
  ASSERT_TRUE(large.ok());
  EXPECT_EQ(large->num_kv_blocks, 870);
}

TEST(MemoryPlanTest, ModelThatDoesNotFitNamesBytesNeededAndAvailable) {
  auto plan = PlanDeviceMemory(Needs(), Kv(0, kMiB, 0.9), 120 * kMiB);
  ASSERT_FALSE(plan.ok());
  EXPECT_EQ(plan.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(plan.status().message(),
              AllOf(HasSubstr("does not fit"), HasSubstr("needs " + std::to_string(131 * kMiB) + " bytes"),
                    HasSubstr("weights " + std::to_string(100 * kMiB)), HasSubstr(std::to_string(120 * kMiB) + " bytes are available")));
}

TEST(MemoryPlanTest, TooManyExplicitBlocksIsAnError) {
  auto plan = PlanDeviceMemory(Needs(), Kv(871, 0, 0), 1000 * kMiB);
  ASSERT_FALSE(plan.ok());
  EXPECT_EQ(plan.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(plan.status().message(), HasSubstr("871 blocks"));
}

TEST(MemoryPlanTest, BudgetBelowOneBlockIsAnError) {
  auto plan = PlanDeviceMemory(Needs(), Kv(0, kMiB - 1, 0), 1000 * kMiB);
  ASSERT_FALSE(plan.ok());
  EXPECT_THAT(plan.status().message(), HasSubstr("holds no block"));
}

TEST(MemoryPlanTest, KvCacheConfigChecksTheFraction) {
  EXPECT_FALSE(Kv(0, 0, 1.5).Validate().ok());
  EXPECT_FALSE(Kv(0, 0, -0.1).Validate().ok());
  EXPECT_TRUE(Kv(0, 0, 0.9).Validate().ok());  // a fraction alone is a budget
  EXPECT_FALSE(Kv(0, 0, 0).Validate().ok());
}

}  // namespace
}  // namespace switchyard::engine::cuda
