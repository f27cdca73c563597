// Prefix caching in the scheduler, step by step with a fake engine: a
// request whose prompt starts with a cached prefix prefills only the rest
// (its last token always computed), salts keep tenants apart, blocks are
// shared while in use and stay cached after, the least recently used are
// evicted when memory is needed, and a preempted request finds its own
// blocks again.
#include <gtest/gtest.h>

#include <numeric>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "scheduler/scheduler.h"

namespace switchyard::scheduler {
namespace {

std::string Describe(const StepPlan& plan) {
  std::vector<std::string> parts;
  for (const ScheduledChunk& c : plan.chunks) {
    parts.push_back(absl::StrCat(c.seq->id, ":", c.num_cached, "+", c.num_tokens, c.samples ? "*" : ""));
  }
  return absl::StrJoin(parts, " ");
}

// Runs one step with the fake engine (token 7, finishing at max_tokens).
std::string Step(Scheduler& s) {
  const StepPlan plan = s.Step();
  const std::string described = Describe(plan);  // before Update frees what ended
  std::vector<SampledToken> sampled;
  for (const ScheduledChunk& c : plan.chunks) {
    if (c.samples) sampled.push_back({7, c.seq->num_generated() + 1 == c.seq->max_tokens});
  }
  s.Update(plan, sampled);
  EXPECT_TRUE(s.CheckInvariants().ok()) << s.CheckInvariants();
  return described;
}

std::unique_ptr<Scheduler> Make(int32_t num_blocks, bool caching = true, int32_t tokens = 64) {
  SchedulerConfig c;
  c.max_num_batched_tokens = tokens;
  c.max_num_seqs = 8;
  c.enable_prefix_caching = caching;
  return std::move(*Scheduler::Create(c, {num_blocks, /*block_size=*/4}, /*max_model_len=*/256));
}

// Tokens first, first + 1, ...
std::vector<int32_t> Range(int32_t first, int32_t n) {
  std::vector<int32_t> v(n);
  std::iota(v.begin(), v.end(), first);
  return v;
}

SequenceRequest Req(RequestId id, std::vector<int32_t> prompt, int32_t max_tokens = 1, std::string salt = "") {
  return {id, std::move(prompt), max_tokens, absl::InfiniteFuture(), std::move(salt)};
}

std::vector<int32_t> Concat(std::vector<int32_t> a, const std::vector<int32_t>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

TEST(SchedulerPrefixCacheTest, ASharedPrefixIsPrefilledOnce) {
  auto s = Make(32);
  const std::vector<int32_t> system = Range(100, 20);  // five full blocks
  ASSERT_TRUE(s->Submit(Req(1, Concat(system, {1, 2, 3}))).ok());
  EXPECT_EQ(Step(*s), "1:0+23*");
  EXPECT_EQ(s->stats().num_cached_blocks, 5);
  EXPECT_EQ(s->stats().num_evictable_blocks, 5);  // request 1 ended: cached, free
  EXPECT_EQ(s->stats().num_free_blocks, 32);
  ASSERT_TRUE(s->Submit(Req(2, Concat(system, {9, 9, 9, 9, 9}))).ok());
  EXPECT_EQ(Step(*s), "2:20+5*");
  const SchedulerStats st = s->stats();
  EXPECT_EQ(st.prefix_cache_queries, 22 + 24);
  EXPECT_EQ(st.prefix_cache_hits, 20);
}

TEST(SchedulerPrefixCacheTest, TheLastTokenIsAlwaysComputed) {
  auto s = Make(32);
  const std::vector<int32_t> prompt = Range(0, 16);  // exactly four blocks
  ASSERT_TRUE(s->Submit(Req(1, prompt)).ok());
  EXPECT_EQ(Step(*s), "1:0+16*");
  ASSERT_TRUE(s->Submit(Req(2, prompt)).ok());
  EXPECT_EQ(Step(*s), "2:12+4*");  // the fourth block is recomputed for its last token's logits
}

TEST(SchedulerPrefixCacheTest, OnlyFullBlocksAreShared) {
  auto s = Make(32);
  ASSERT_TRUE(s->Submit(Req(1, Range(0, 7))).ok());  // one full block, one partial
  EXPECT_EQ(Step(*s), "1:0+7*");
  ASSERT_TRUE(s->Submit(Req(2, Range(0, 10))).ok());
  EXPECT_EQ(Step(*s), "2:4+6*");
}

TEST(SchedulerPrefixCacheTest, SaltsKeepTenantsApartAndCachingCanBeOff) {
  auto s = Make(32);
  ASSERT_TRUE(s->Submit(Req(1, Range(0, 12), 1, "tenant-a")).ok());
  EXPECT_EQ(Step(*s), "1:0+12*");
  ASSERT_TRUE(s->Submit(Req(2, Range(0, 12), 1, "tenant-b")).ok());
  EXPECT_EQ(Step(*s), "2:0+12*");
  ASSERT_TRUE(s->Submit(Req(3, Range(0, 12))).ok());
  EXPECT_EQ(Step(*s), "3:0+12*");
  ASSERT_TRUE(s->Submit(Req(4, Range(0, 12), 1, "tenant-a")).ok());
  EXPECT_EQ(Step(*s), "4:8+4*");

  auto off = Make(32, /*caching=*/false);
  ASSERT_TRUE(off->Submit(Req(1, Range(0, 12))).ok());
  EXPECT_EQ(Step(*off), "1:0+12*");
  ASSERT_TRUE(off->Submit(Req(2, Range(0, 12))).ok());
  EXPECT_EQ(Step(*off), "2:0+12*");
  EXPECT_EQ(off->stats().num_cached_blocks, 0);
  EXPECT_EQ(off->stats().prefix_cache_hits, 0);
}

TEST(SchedulerPrefixCacheTest, RunningRequestsShareBlocksAndEndWithoutFreeingEachOthers) {
  auto s = Make(32);
  const std::vector<int32_t> system = Range(50, 8);
  ASSERT_TRUE(s->Submit(Req(1, Concat(system, {1}), /*max_tokens=*/4)).ok());
  EXPECT_EQ(Step(*s), "1:0+9*");  // its two system blocks are cached now
  ASSERT_TRUE(s->Submit(Req(2, Concat(system, {2}), /*max_tokens=*/2)).ok());
  EXPECT_EQ(Step(*s), "1:9+1* 2:8+1*");
  // Both hold the two system blocks.
  EXPECT_EQ(s->stats().num_cached_blocks, 2);
  EXPECT_EQ(s->stats().num_evictable_blocks, 0);
  EXPECT_EQ(Step(*s), "1:10+1* 2:9+1*");  // 2 ends; 1's blocks stay its own
  EXPECT_EQ(Step(*s), "1:11+1*");
  EXPECT_TRUE(s->idle());
  EXPECT_EQ(s->stats().num_free_blocks, 32);
  EXPECT_EQ(s->stats().num_evictable_blocks, s->stats().num_cached_blocks);
}

TEST(SchedulerPrefixCacheTest, TheLeastRecentlyUsedAreEvictedWhenMemoryIsNeeded) {
  auto s = Make(6, /*caching=*/true, /*tokens=*/32);
  ASSERT_TRUE(s->Submit(Req(1, Range(0, 9))).ok());  // blocks 0-1 cached, block 2 partial
  EXPECT_EQ(Step(*s), "1:0+9*");
  ASSERT_TRUE(s->Submit(Req(2, Range(100, 9))).ok());
  EXPECT_EQ(Step(*s), "2:0+9*");
  EXPECT_EQ(s->stats().num_cached_blocks, 4);
  // 21 tokens need six blocks: the two uncached ones, then the four cached,
  // request 1's first (least recently freed).
  ASSERT_TRUE(s->Submit(Req(3, Range(500, 21))).ok());
  EXPECT_EQ(Step(*s), "3:0+21*");
  EXPECT_EQ(s->stats().num_cached_blocks, 5);  // 3's five full blocks; the others evicted
  ASSERT_TRUE(s->Submit(Req(4, Range(0, 9))).ok());
  EXPECT_EQ(Step(*s), "4:0+9*");  // request 1's prefix is gone
}

TEST(SchedulerPrefixCacheTest, APreemptedRequestFindsItsOwnBlocksAgain) {
  // Four blocks: 1 and 2 grow into each other, 2 is preempted, comes back
  // after 1 ends, and its cached blocks are still there.
  SchedulerConfig c;
  c.max_num_batched_tokens = 32;
  c.max_num_seqs = 4;
  auto s = std::move(*Scheduler::Create(c, {4, 4}, 256));
  ASSERT_TRUE(s->Submit(Req(1, Range(0, 3), /*max_tokens=*/5)).ok());
  ASSERT_TRUE(s->Submit(Req(2, Range(100, 7), /*max_tokens=*/3)).ok());
  EXPECT_EQ(Step(*s), "1:0+3* 2:0+7*");  // 1: one block, 2: two (the first cached)
  EXPECT_EQ(Step(*s), "1:3+1* 2:7+1*");
  EXPECT_EQ(Step(*s), "1:4+1*");  // 1 needs a second block: 2 is preempted
  EXPECT_EQ(s->stats().num_preemptions, 1);
  EXPECT_EQ(Step(*s), "1:5+1*");
  EXPECT_EQ(Step(*s), "1:6+1*");  // 1 ends
  // 2 recomputes only what follows its two cached blocks (tokens 0-7 of 9).
  EXPECT_EQ(Step(*s), "2:8+1*");
  EXPECT_TRUE(s->idle());
}

}  // namespace
}  // namespace switchyard::scheduler
