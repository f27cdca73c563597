// Decode-graph buckets and the backend configuration they come from.
#include "engine/cuda/decode_buckets.h"

#include <gtest/gtest.h>

#include "engine/cuda/cuda_backend_config.h"

namespace switchyard::engine::cuda {
namespace {

TEST(DecodeBucketsTest, SmallestBucketThatHoldsTheBatch) {
  const std::vector<int32_t> sizes = {1, 2, 4, 8, 16};
  EXPECT_EQ(DecodeBucket(sizes, 1), 1);
  EXPECT_EQ(DecodeBucket(sizes, 3), 4);
  EXPECT_EQ(DecodeBucket(sizes, 8), 8);
  EXPECT_EQ(DecodeBucket(sizes, 9), 16);
  EXPECT_EQ(DecodeBucket(sizes, 17), std::nullopt);
  EXPECT_EQ(DecodeBucket({}, 1), std::nullopt);
}

TEST(DecodeBucketsTest, DecodeOnlyMeansOneTokenPerSequence) {
  const std::vector<int32_t> blocks = {0};
  Batch decode{{5, 6}, {{1, 3, blocks, LogitsMode::kLast}, {1, 7, blocks, LogitsMode::kLast}}};
  EXPECT_TRUE(IsDecodeOnly(decode));
  Batch mixed{{5, 6, 7}, {{1, 3, blocks, LogitsMode::kLast}, {2, 0, blocks, LogitsMode::kLast}}};
  EXPECT_FALSE(IsDecodeOnly(mixed));
  EXPECT_FALSE(IsDecodeOnly(Batch{}));
}

TEST(CudaBackendConfigTest, DefaultsAreValid) { EXPECT_TRUE(CudaBackendConfig{}.Validate().ok()); }

// The plugin sizes the backend by the scheduler's budget: what it reports
// back is what it was asked for, with a decode graph for every power of two
// below the sequence limit and one for the limit itself.
TEST(CudaBackendConfigTest, ForStepCapacityHoldsExactlyTheBudget) {
  const CudaBackendConfig c = CudaBackendConfig::ForStepCapacity({512, 64});
  ASSERT_TRUE(c.Validate().ok()) << c.Validate();
  EXPECT_EQ(c.max_num_tokens, 512);
  EXPECT_EQ(c.max_num_seqs, 64);
  EXPECT_EQ(c.max_logit_rows, 64);
  EXPECT_EQ(c.decode_graph_sizes, (std::vector<int32_t>{1, 2, 4, 8, 16, 32, 64}));
  const CudaBackendConfig odd = CudaBackendConfig::ForStepCapacity({100, 3});
  ASSERT_TRUE(odd.Validate().ok()) << odd.Validate();
  EXPECT_EQ(odd.decode_graph_sizes, (std::vector<int32_t>{1, 2, 3}));
  EXPECT_EQ(CudaBackendConfig::ForStepCapacity({1, 1}).decode_graph_sizes, (std::vector<int32_t>{1}));
}

TEST(CudaBackendConfigTest, RejectsBadCapacitiesAndBuckets) {
  CudaBackendConfig c;
  c.max_num_tokens = 0;
  EXPECT_FALSE(c.Validate().ok());
  c = {};
  c.max_num_seqs = c.max_num_tokens + 1;
  EXPECT_FALSE(c.Validate().ok());
  c = {};
  c.decode_graph_sizes = {1, 4, 4};
  EXPECT_FALSE(c.Validate().ok());
  c = {};
  c.decode_graph_sizes = {0, 4};
  EXPECT_FALSE(c.Validate().ok());
  c = {};
  c.max_logit_rows = 64;  // a graph computes all its rows' logits in one pass
  EXPECT_FALSE(c.Validate().ok());
  c.decode_graph_sizes = {1, 64};
  EXPECT_TRUE(c.Validate().ok());
}

}  // namespace
}  // namespace switchyard::engine::cuda
