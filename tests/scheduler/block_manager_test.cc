#include "scheduler/block_manager.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace switchyard::scheduler {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

TEST(BlockManagerTest, GrowsToCoverPositionsAndReleasesEverything) {
  BlockManager m({/*num_blocks=*/4, /*block_size=*/4});
  std::vector<int32_t> table;
  EXPECT_TRUE(m.Grow(table, 5));
  EXPECT_EQ(table, (std::vector<int32_t>{0, 1}));
  EXPECT_TRUE(m.Grow(table, 8));  // still two blocks
  EXPECT_EQ(table.size(), 2u);
  EXPECT_EQ(m.num_used(), 2);
  EXPECT_DOUBLE_EQ(m.usage(), 0.5);
  m.Release(table);
  EXPECT_TRUE(table.empty());
  EXPECT_EQ(m.num_free(), 4);
  for (int32_t b = 0; b < 4; ++b) EXPECT_FALSE(m.in_use(b));
}

TEST(BlockManagerTest, GrowIsAllOrNothing) {
  BlockManager m({3, 2});
  std::vector<int32_t> a, b;
  ASSERT_TRUE(m.Grow(a, 4));
  EXPECT_FALSE(m.Grow(b, 3));  // needs 2, 1 free
  EXPECT_TRUE(b.empty());
  EXPECT_EQ(m.num_free(), 1);
  EXPECT_TRUE(m.Grow(b, 2));
  EXPECT_EQ(m.num_free(), 0);
}

TEST(BlockManagerTest, ReusesTheMostRecentlyFreedBlockFirst) {
  BlockManager m({4, 1});
  std::vector<int32_t> a, b;
  ASSERT_TRUE(m.Grow(a, 2));  // 0, 1
  ASSERT_TRUE(m.Grow(b, 1));  // 2
  m.Release(a);  // last block first: 1, then 0
  ASSERT_TRUE(m.Grow(b, 2));
  EXPECT_EQ(b, (std::vector<int32_t>{2, 0}));
}

// The double-free guard is on in every build (SWITCHYARD_CHECK, not assert):
// CI builds Release with NDEBUG, where an assert checked nothing.
TEST(BlockManagerDeathTest, ReleasingABlockTwiceAbortsInEveryBuild) {
  BlockManager m({/*num_blocks=*/4, /*block_size=*/4});
  std::vector<int32_t> table;
  ASSERT_TRUE(m.Grow(table, 4));
  std::vector<int32_t> copy = table;
  m.Release(table);
  // A substring, not a regex: glibc's regexec in the parent hangs on its
  // own lock under AddressSanitizer (tools/sanitize.sh) after the fork.
  EXPECT_DEATH(m.Release(copy), AllOf(HasSubstr("invariant broken: "), HasSubstr("info_[block].refs > 0")));
}

}  // namespace
}  // namespace switchyard::scheduler
