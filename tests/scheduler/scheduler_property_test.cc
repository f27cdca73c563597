// Randomised property test of the scheduler and block manager with a fake
// engine: random arrivals, lengths, cancellations, deadlines, tight KV
// budgets, and prompts that share prefixes (with the prefix cache on in most
// runs, salts mixed). After every step the invariants hold
// (Scheduler::CheckInvariants: reference counts equal the tables holding
// each block, only cached blocks shared, none written by a sharer, none
// leaked, every cached block indexed under its tokens' hash) and so do the
// budgets. The fake engine writes into a model of the KV cache what each
// computed position depends on (a fingerprint of the writer's tokens up to
// it), and every chunk must find, at each cached position it attends, the
// fingerprint of its own prefix: a cache hit never hands a sequence another
// prefix's KV. At the end every admitted request has finished, been
// cancelled or expired, exactly once, and every block is free.
#include <gtest/gtest.h>

#include <random>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "scheduler/scheduler.h"

namespace switchyard::scheduler {
namespace {

enum class Outcome { kFinished, kCancelled, kExpired };

class SchedulerPropertyTest : public ::testing::TestWithParam<uint32_t> {};

TEST_P(SchedulerPropertyTest, InvariantsHoldUnderRandomLoad) {
  std::mt19937 rng(GetParam());
  auto uniform = [&](int32_t lo, int32_t hi) { return std::uniform_int_distribution<int32_t>(lo, hi)(rng); };
  auto chance = [&](double p) { return std::bernoulli_distribution(p)(rng); };

  SchedulerConfig config;
  config.max_num_seqs = uniform(1, 16);
  config.max_num_batched_tokens = uniform(config.max_num_seqs, 64);
  config.max_waiting = uniform(1, 32);
  config.enable_prefix_caching = chance(0.8);
  const KvCacheShape kv{uniform(4, 40), std::vector<int32_t>{1, 2, 4, 16}[uniform(0, 3)]};
  // Prompts: one of a few shared prefixes, then a random tail.
  std::vector<std::vector<int32_t>> prefixes(3);
  for (auto& p : prefixes) {
    p.resize(uniform(1, 40));
    for (int32_t& t : p) t = uniform(0, 3);
  }
  // The KV model: per slot, the fingerprint of the tokens up to the position
  // written there (0: never written).
  std::vector<uint64_t> kv_written(static_cast<size_t>(kv.num_blocks) * kv.block_size, 0);
  auto fingerprints = [](const std::vector<int32_t>& tokens, int32_t n) {
    std::vector<uint64_t> f(n);
    uint64_t h = 1469598103934665603ull;
    for (int32_t p = 0; p < n; ++p) f[p] = h = (h ^ static_cast<uint32_t>(tokens[p] + 1)) * 1099511628211ull;
    return f;
  };
  const int32_t max_model_len = uniform(8, 200);
  absl::Time now = absl::UnixEpoch();
  auto created = Scheduler::Create(config, kv, max_model_len, [&] { return now; });
  ASSERT_TRUE(created.ok()) << created.status();
  Scheduler& s = **created;
  SCOPED_TRACE(absl::StrCat("seed ", GetParam(), ": ", config.max_num_batched_tokens, " tokens, ",
                            config.max_num_seqs, " seqs, ", kv.num_blocks, " blocks of ", kv.block_size));

  absl::flat_hash_set<RequestId> live;
  absl::flat_hash_map<RequestId, Outcome> outcomes;
  int32_t num_admitted = 0;
  auto record = [&](RequestId id, Outcome o) { return outcomes.emplace(id, o).second; };
  RequestId next_id = 0;
  int64_t preemptions_seen = 0;
  constexpr int kArrivalSteps = 1500;
  for (int step = 0; step < kArrivalSteps || !s.idle(); ++step) {
    ASSERT_LT(step, kArrivalSteps + 20000) << "no progress";
    if (step < kArrivalSteps) {
      for (int a = uniform(0, 2); a > 0; --a) {
        SequenceRequest r{next_id++, prefixes[uniform(0, 2)], uniform(1, 40)};
        for (int32_t tail = uniform(0, 20); tail > 0; --tail) r.prompt_ids.push_back(uniform(0, 3));
        if (chance(0.2)) r.cache_salt = "tenant";
        if (chance(0.2)) r.deadline = now + absl::Milliseconds(uniform(1, 200));
        const absl::Status st = s.Submit(r);
        if (st.ok()) {
          live.insert(r.id);
          ++num_admitted;
        } else {
          // Too long for the context or the cache, or the queue is full.
          const bool too_big = static_cast<int64_t>(r.prompt_ids.size()) + r.max_tokens > max_model_len ||
                               (r.prompt_ids.size() + r.max_tokens + kv.block_size - 1) / kv.block_size >
                                   static_cast<size_t>(kv.num_blocks);
          ASSERT_TRUE(too_big || st.code() == absl::StatusCode::kUnavailable) << st;
        }
      }
      if (!live.empty() && chance(0.05)) {
        auto it = live.begin();
        std::advance(it, uniform(0, static_cast<int32_t>(live.size()) - 1));
        ASSERT_TRUE(s.Cancel(*it).ok());
      }
    }
    now += absl::Milliseconds(1);

    const StepPlan plan = s.Step();
    for (const AbortedRequest& a : plan.aborted) {
      ASSERT_TRUE(live.erase(a.id)) << a.id;
      ASSERT_TRUE(record(a.id, a.reason == FinishReason::kCancelled ? Outcome::kCancelled : Outcome::kExpired));
    }
    ASSERT_LE(plan.num_tokens, config.max_num_batched_tokens);
    ASSERT_LE(static_cast<int32_t>(plan.chunks.size()), config.max_num_seqs);
    absl::flat_hash_set<RequestId> in_plan;
    int32_t tokens = 0;
    std::vector<SampledToken> sampled;
    for (const ScheduledChunk& c : plan.chunks) {
      ASSERT_TRUE(in_plan.insert(c.seq->id).second) << "scheduled twice: " << c.seq->id;
      ASSERT_TRUE(live.contains(c.seq->id));
      ASSERT_GE(c.num_tokens, 1);
      ASSERT_LE(c.num_cached + c.num_tokens, c.seq->num_tokens());
      ASSERT_EQ(c.samples, c.num_cached + c.num_tokens == c.seq->num_tokens());
      ASSERT_GE(static_cast<int64_t>(c.seq->block_table.size()) * kv.block_size, c.num_cached + c.num_tokens);
      // What it attends was written for its own prefix; then it writes its chunk.
      const std::vector<uint64_t> own = fingerprints(c.seq->tokens, c.num_cached + c.num_tokens);
      for (int32_t p = 0; p < c.num_cached + c.num_tokens; ++p) {
        uint64_t& slot = kv_written[static_cast<size_t>(c.seq->block_table[p / kv.block_size]) * kv.block_size +
                                    p % kv.block_size];
        if (p >= c.num_cached) slot = own[p];
        ASSERT_EQ(slot, own[p]) << "request " << c.seq->id << " position " << p << " of " << c.num_cached
                                << " cached: another prefix's KV";
      }
      tokens += c.num_tokens;
      if (!c.samples) continue;
      // The fake engine: a random token, the end at max_tokens or, now and
      // then, earlier (an eos).
      const bool finished = c.seq->num_generated() + 1 == c.seq->max_tokens || chance(0.03);
      sampled.push_back({uniform(0, 99), finished});
      if (finished) {
        live.erase(c.seq->id);
        ASSERT_TRUE(record(c.seq->id, Outcome::kFinished));
      }
    }
    ASSERT_EQ(tokens, plan.num_tokens);
    preemptions_seen += plan.num_preempted;
    ASSERT_TRUE(s.CheckInvariants().ok()) << "after Step " << step << ": " << s.CheckInvariants();
    s.Update(plan, sampled);
    ASSERT_TRUE(s.CheckInvariants().ok()) << "after Update " << step << ": " << s.CheckInvariants();
  }
  EXPECT_TRUE(live.empty());
  EXPECT_EQ(s.stats().num_free_blocks, kv.num_blocks);
  EXPECT_EQ(s.stats().num_preemptions, preemptions_seen);
  // Each admitted request ended exactly once (record() refuses a second end).
  EXPECT_EQ(static_cast<int32_t>(outcomes.size()), num_admitted);
  RecordProperty("preemptions", static_cast<int>(preemptions_seen));
  RecordProperty("prefix_cache_hit_tokens", static_cast<int>(s.stats().prefix_cache_hits));
  if (!config.enable_prefix_caching) {
    EXPECT_EQ(s.stats().prefix_cache_hits, 0);
  }
  RecordProperty("requests", static_cast<int>(outcomes.size()));
}

INSTANTIATE_TEST_SUITE_P(Seeds, SchedulerPropertyTest, ::testing::Range(1u, 101u));

}  // namespace
}  // namespace switchyard::scheduler
