// Step-by-step expected states of the main policies (in the style of
// TensorRT-LLM's capacity-scheduler tests): each row is what one Step() plans
// and the state after the step's outcome is recorded. A plan reads
// "id:tokens", with "*" where the chunk samples a token.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "scheduler/scheduler.h"

namespace switchyard::scheduler {
namespace {

struct Row {
  std::string plan;
  int32_t preempted;
  int32_t running;
  int32_t waiting;
  int32_t free_blocks;
};

std::string Describe(const StepPlan& plan) {
  std::vector<std::string> parts;
  for (const ScheduledChunk& c : plan.chunks) {
    parts.push_back(absl::StrCat(c.seq->id, ":", c.num_tokens, c.samples ? "*" : ""));
  }
  return absl::StrJoin(parts, " ");
}

// The fake engine: token 7 every time, finishing at max_tokens.
void Finish(Scheduler& s, const StepPlan& plan) {
  std::vector<SampledToken> sampled;
  for (const ScheduledChunk& c : plan.chunks) {
    if (c.samples) sampled.push_back({7, c.seq->num_generated() + 1 == c.seq->max_tokens});
  }
  s.Update(plan, sampled);
}

void ExpectSteps(Scheduler& s, const std::vector<Row>& rows) {
  for (size_t i = 0; i < rows.size(); ++i) {
    SCOPED_TRACE(absl::StrCat("step ", i + 1));
    const StepPlan plan = s.Step();
    EXPECT_EQ(Describe(plan), rows[i].plan);
    EXPECT_EQ(plan.num_preempted, rows[i].preempted);
    Finish(s, plan);
    const SchedulerStats st = s.stats();
    EXPECT_EQ(st.num_running, rows[i].running);
    EXPECT_EQ(st.num_waiting, rows[i].waiting);
    EXPECT_EQ(st.num_free_blocks, rows[i].free_blocks);
    ASSERT_TRUE(s.CheckInvariants().ok()) << s.CheckInvariants();
  }
}

void ExpectDrained(const Scheduler& s) {
  EXPECT_TRUE(s.idle());
  EXPECT_EQ(s.stats().num_free_blocks, s.stats().num_blocks);
}

// Prefix caching off: these prompts are all alike, and the tables are of the
// policies without it (scheduler_prefix_cache_test.cc has those with it).
std::unique_ptr<Scheduler> Make(int32_t tokens, int32_t seqs, KvCacheShape kv) {
  SchedulerConfig c;
  c.max_num_batched_tokens = tokens;
  c.max_num_seqs = seqs;
  c.enable_prefix_caching = false;
  auto s = Scheduler::Create(c, kv, /*max_model_len=*/1024);
  EXPECT_TRUE(s.ok()) << s.status();
  return std::move(*s);
}

SequenceRequest Req(RequestId id, int32_t prompt_len, int32_t max_tokens) {
  return {id, std::vector<int32_t>(prompt_len, 1), max_tokens};
}

// A 20-token prompt spans several steps at 8 tokens per step, and the decode
// of request 1 runs in every one of them; chunks never sample but the last.
TEST(SchedulerPolicyTest, ChunkedPrefillRunsBesideDecodes) {
  auto s = Make(8, 4, {64, 4});
  ASSERT_TRUE(s->Submit(Req(1, 3, 4)).ok());
  ASSERT_TRUE(s->Submit(Req(2, 20, 2)).ok());
  ExpectSteps(*s, {
                      // plan        preempted running waiting free
                      {"1:3* 2:5", 0, 2, 0, 64 - 1 - 2},
                      {"1:1* 2:7", 0, 2, 0, 64 - 1 - 3},
                      {"1:1* 2:7", 0, 2, 0, 64 - 2 - 5},
                      {"1:1* 2:1*", 0, 1, 0, 64 - 5},  // 2's last prompt token samples; 1 ends
                      {"2:1*", 0, 0, 0, 64},
                  });
  ExpectDrained(*s);
}

// Decodes are counted first: with a budget of 4 and three decoding requests,
// a newcomer's prompt gets the one token left per step, never a decode slot.
TEST(SchedulerPolicyTest, DecodesComeBeforePrefill) {
  auto s = Make(4, 4, {64, 4});
  for (RequestId id : {1, 2, 3}) ASSERT_TRUE(s->Submit(Req(id, 1, 6)).ok());
  ExpectSteps(*s, {{"1:1* 2:1* 3:1*", 0, 3, 0, 61}});
  ASSERT_TRUE(s->Submit(Req(4, 3, 1)).ok());
  ExpectSteps(*s, {
                      {"1:1* 2:1* 3:1* 4:1", 0, 4, 0, 60},
                      {"1:1* 2:1* 3:1* 4:1", 0, 4, 0, 60},
                      {"1:1* 2:1* 3:1* 4:1*", 0, 3, 0, 61},  // 4 ends with its first token
                      {"1:1* 2:1* 3:1*", 0, 3, 0, 58},  // 1, 2 and 3 now need a second block
                      {"1:1* 2:1* 3:1*", 0, 0, 0, 64},
                  });
  ExpectDrained(*s);
}

// max_num_seqs bounds the running set: the third request waits for a slot.
TEST(SchedulerPolicyTest, RunningSetIsBounded) {
  auto s = Make(16, 2, {64, 4});
  for (RequestId id : {1, 2, 3}) ASSERT_TRUE(s->Submit(Req(id, 2, 2)).ok());
  ExpectSteps(*s, {
                      {"1:2* 2:2*", 0, 2, 1, 62},
                      {"1:1* 2:1*", 0, 0, 1, 64},
                      {"3:2*", 0, 1, 0, 63},
                      {"3:1*", 0, 0, 0, 64},
                  });
  ExpectDrained(*s);
}

// Four blocks of two tokens for three requests of 2 + 4 tokens. The newest
// running request is preempted whenever an older one needs a block; the
// preempted ones return in admission order and recompute prompt and
// generated tokens in one chunk.
TEST(SchedulerPolicyTest, PreemptsTheNewestAndRecomputesInOrder) {
  auto s = Make(16, 4, {4, 2});
  for (RequestId id : {1, 2, 3}) ASSERT_TRUE(s->Submit(Req(id, 2, 4)).ok());
  ExpectSteps(*s, {
                      {"1:2* 2:2* 3:2*", 0, 3, 0, 1},
                      {"1:1* 2:1*", 1, 2, 1, 0},  // 1 and 2 each need a second block: 3 goes
                      {"1:1* 2:1*", 0, 2, 1, 0},
                      {"1:1*", 1, 0, 2, 4},  // 1 needs a third block: 2 goes; 1 ends
                      {"2:5*", 0, 0, 1, 4},  // 2 recomputes 2 + 3 tokens, ends; 3 did not fit beside it
                      {"3:3*", 0, 1, 0, 2},
                      {"3:1*", 0, 1, 0, 2},
                      {"3:1*", 0, 0, 0, 4},
                  });
  ExpectDrained(*s);
  EXPECT_EQ(s->stats().num_preemptions, 2);
}

TEST(SchedulerPolicyTest, CancelAndDeadlineFreeBlocksAtTheNextStep) {
  absl::Time now = absl::UnixEpoch();
  SchedulerConfig c;
  auto s = *Scheduler::Create(c, {16, 4}, 1024, [&] { return now; });
  ASSERT_TRUE(s->Submit(Req(1, 8, 8)).ok());
  SequenceRequest timed = Req(2, 8, 8);
  timed.deadline = now + absl::Seconds(1);
  ASSERT_TRUE(s->Submit(timed).ok());
  ASSERT_TRUE(s->Submit(Req(3, 8, 8)).ok());
  Finish(*s, s->Step());
  EXPECT_EQ(s->stats().num_free_blocks, 16 - 3 * 2);

  ASSERT_TRUE(s->Cancel(1).ok());
  EXPECT_EQ(s->stats().num_running, 3);  // nothing happens until the step boundary
  now += absl::Seconds(2);
  StepPlan plan = s->Step();
  ASSERT_EQ(plan.aborted.size(), 2u);
  EXPECT_EQ(plan.aborted[0].id, 1);
  EXPECT_EQ(plan.aborted[0].reason, FinishReason::kCancelled);
  EXPECT_EQ(plan.aborted[1].id, 2);
  EXPECT_EQ(plan.aborted[1].reason, FinishReason::kDeadlineExceeded);
  EXPECT_EQ(Describe(plan), "3:1*");
  EXPECT_EQ(s->stats().num_free_blocks, 16 - 3);
  Finish(*s, plan);
  EXPECT_EQ(s->Cancel(1).code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(s->CheckInvariants().ok());
}

TEST(SchedulerPolicyTest, SubmitRefusesWhatCanNeverRunAndSaysWhy) {
  SchedulerConfig c;
  c.max_num_seqs = 1;  // the first request queued takes the one free slot at the next step
  c.max_waiting = 2;
  auto s = *Scheduler::Create(c, {/*num_blocks=*/4, /*block_size=*/16}, /*max_model_len=*/100);

  absl::Status st = s->Submit(Req(1, 60, 50));
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("prompt (60 tokens) plus max_tokens (50)"), std::string::npos) << st;
  EXPECT_NE(st.message().find("context length 100"), std::string::npos) << st;

  st = s->Submit(Req(1, 60, 5));  // 65 tokens: 5 blocks of 16
  EXPECT_EQ(st.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(st.message().find("needs 5 KV blocks"), std::string::npos) << st;
  EXPECT_NE(st.message().find("has 4"), std::string::npos) << st;

  EXPECT_EQ(s->Submit(Req(1, 0, 5)).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s->Submit(Req(1, 5, 0)).code(), absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE(s->Submit(Req(1, 5, 5)).ok());
  EXPECT_EQ(s->Submit(Req(1, 5, 5)).code(), absl::StatusCode::kAlreadyExists);
  ASSERT_TRUE(s->Submit(Req(2, 5, 5)).ok());
  ASSERT_TRUE(s->Submit(Req(3, 5, 5)).ok());
  st = s->Submit(Req(4, 5, 5));
  EXPECT_EQ(st.code(), absl::StatusCode::kUnavailable);  // overloaded: distinct from a request that is too big
  EXPECT_NE(st.message().find("overloaded"), std::string::npos) << st;
  EXPECT_TRUE(s->CheckInvariants().ok());
}

TEST(SchedulerPolicyTest, ConfigValidation) {
  SchedulerConfig c;
  EXPECT_TRUE(c.Validate().ok());
  c.max_num_seqs = c.max_num_batched_tokens + 1;
  EXPECT_EQ(c.Validate().code(), absl::StatusCode::kInvalidArgument);
  c = {};
  c.max_waiting = 0;
  EXPECT_EQ(c.Validate().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Scheduler::Create({}, {0, 16}, 100).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace switchyard::scheduler
