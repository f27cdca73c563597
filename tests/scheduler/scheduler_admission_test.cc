// The waiting queue's bound (max_waiting) counts only the requests that will
// really wait: those for which the running set has no free slot. Requests
// queued behind slots that finished requests just freed are admitted at the
// very next step, so they must not make a closed-loop client's next request
// look like overload.
#include <gtest/gtest.h>

#include <vector>

#include "scheduler/scheduler.h"

namespace switchyard::scheduler {
namespace {

SequenceRequest Req(RequestId id) { return {id, std::vector<int32_t>(5, 3), /*max_tokens=*/2}; }

// Runs one step; every chunk that samples ends its request when `finish`.
StepPlan StepAll(Scheduler& s, bool finish) {
  const StepPlan plan = s.Step();
  std::vector<SampledToken> sampled;
  for (const ScheduledChunk& c : plan.chunks) {
    if (c.samples) sampled.push_back({7, finish});
  }
  s.Update(plan, sampled);
  return plan;
}

std::unique_ptr<Scheduler> Make() {
  SchedulerConfig c;
  c.max_num_batched_tokens = 256;
  c.max_num_seqs = 4;
  c.max_waiting = 4;
  return *Scheduler::Create(c, {/*num_blocks=*/64, /*block_size=*/16}, /*max_model_len=*/128);
}

TEST(SchedulerAdmissionTest, SlotsFreedByFinishedRequestsAreNotCountedAsWaiting) {
  auto s = Make();
  // Six closed-loop clients: four run, two wait.
  for (RequestId id = 1; id <= 4; ++id) ASSERT_TRUE(s->Submit(Req(id)).ok()) << id;
  EXPECT_EQ(StepAll(*s, false).chunks.size(), 4u);
  for (RequestId id = 5; id <= 6; ++id) ASSERT_TRUE(s->Submit(Req(id)).ok()) << id;
  // 1-4 finish together (the same length, admitted together); 5 and 6 are
  // still queued, to be admitted at the next step.
  EXPECT_EQ(StepAll(*s, true).chunks.size(), 4u);
  EXPECT_EQ(s->stats().num_running, 0);
  EXPECT_EQ(s->stats().num_waiting, 2);
  // Their four clients send again at once: 5 and 6 take two of the four free
  // slots at the next step, 7 and 8 the other two, 9 and 10 really wait.
  for (RequestId id = 7; id <= 10; ++id) EXPECT_TRUE(s->Submit(Req(id)).ok()) << id;
  // The queue holds max_waiting (4) requests beyond the free slots only now.
  EXPECT_TRUE(s->Submit(Req(11)).ok());
  EXPECT_TRUE(s->Submit(Req(12)).ok());
  const absl::Status full = s->Submit(Req(13));
  EXPECT_EQ(full.code(), absl::StatusCode::kUnavailable) << full;
  EXPECT_NE(full.message().find("overloaded: 4 requests are waiting"), std::string::npos) << full;
  EXPECT_TRUE(s->CheckInvariants().ok());

  // The next step admits four, and exactly max_waiting are left waiting.
  EXPECT_EQ(StepAll(*s, false).chunks.size(), 4u);
  EXPECT_EQ(s->stats().num_running, 4);
  EXPECT_EQ(s->stats().num_waiting, 4);
  EXPECT_EQ(s->Submit(Req(13)).code(), absl::StatusCode::kUnavailable);
}

TEST(SchedulerAdmissionTest, RunningRequestsDoNotCountAsWaiting) {
  auto s = Make();
  for (RequestId id = 1; id <= 4; ++id) ASSERT_TRUE(s->Submit(Req(id)).ok());
  StepAll(*s, false);  // 1-4 run
  EXPECT_EQ(s->stats().num_running, 4);
  for (RequestId id = 5; id <= 8; ++id) EXPECT_TRUE(s->Submit(Req(id)).ok()) << id;
  EXPECT_EQ(s->Submit(Req(9)).code(), absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace switchyard::scheduler
