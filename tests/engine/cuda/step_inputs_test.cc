// Packing a batch into the flat arrays the kernels read.
#include "engine/cuda/step_inputs.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace switchyard::engine::cuda {
namespace {

using ::testing::ElementsAre;

TEST(StepInputsTest, MixedPrefillChunkAndDecode) {
  // Block size 4. Sequence 0: a prefill chunk of 3 tokens after 2 cached
  // (positions 2..4, crossing from block 7 into block 3). Sequence 1: one
  // decode token at position 5 (block 9, slot 1).
  const std::vector<int32_t> table0 = {7, 3}, table1 = {2, 9, 11};
  Batch batch{{10, 11, 12, 13}, {{3, 2, table0, LogitsMode::kAll}, {1, 5, table1, LogitsMode::kLast}}};
  const StepInputs in = PackStep(batch, 4, 3, 0);
  EXPECT_EQ(in.num_tokens, 4);
  EXPECT_EQ(in.num_real_tokens, 4);
  EXPECT_EQ(in.num_seqs, 2);
  EXPECT_THAT(in.token_ids, ElementsAre(10, 11, 12, 13));
  EXPECT_THAT(in.positions, ElementsAre(2, 3, 4, 5));
  EXPECT_THAT(in.context_lens, ElementsAre(3, 4, 5, 6));
  EXPECT_THAT(in.kv_slots, ElementsAre(7 * 4 + 2, 7 * 4 + 3, 3 * 4 + 0, 9 * 4 + 1));
  EXPECT_THAT(in.token_seqs, ElementsAre(0, 0, 0, 1));
  // Only the blocks a sequence reaches are copied; the stride stays 3.
  EXPECT_THAT(in.block_tables, ElementsAre(7, 3, 0, 2, 9, 0));
  EXPECT_EQ(in.num_logit_rows, 4);
  EXPECT_THAT(in.logit_rows, ElementsAre(0, 1, 2, 3));
}

TEST(StepInputsTest, NoLogitsForAnUnfinishedPrefillChunk) {
  const std::vector<int32_t> table = {0, 1};
  Batch batch{{1, 2, 3}, {{3, 0, table, LogitsMode::kNone}}};
  const StepInputs in = PackStep(batch, 16, 2, 0);
  EXPECT_EQ(in.num_logit_rows, 0);
  EXPECT_TRUE(in.logit_rows.empty());
}

TEST(StepInputsTest, DecodePaddedToABucket) {
  const std::vector<int32_t> t0 = {4}, t1 = {5}, t2 = {6};
  Batch batch{{7, 8, 9},
              {{1, 0, t0, LogitsMode::kLast}, {1, 1, t1, LogitsMode::kNone}, {1, 2, t2, LogitsMode::kLast}}};
  const StepInputs in = PackStep(batch, 8, 1, 4);
  EXPECT_EQ(in.num_tokens, 4);
  EXPECT_EQ(in.num_real_tokens, 3);
  EXPECT_THAT(in.token_ids, ElementsAre(7, 8, 9, 0));
  EXPECT_THAT(in.positions, ElementsAre(0, 1, 2, 0));
  // Padding attends nothing and writes no KV.
  EXPECT_THAT(in.context_lens, ElementsAre(1, 2, 3, 0));
  EXPECT_THAT(in.kv_slots, ElementsAre(32, 41, 50, -1));
  EXPECT_THAT(in.token_seqs, ElementsAre(0, 1, 2, 0));
  // Two rows asked for; the graph runs four, the first two are returned.
  EXPECT_EQ(in.num_logit_rows, 2);
  EXPECT_THAT(in.logit_rows, ElementsAre(0, 2, 0, 0));
}

}  // namespace
}  // namespace switchyard::engine::cuda
