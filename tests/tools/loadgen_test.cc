// The load generator's statistics, arrival times, latency convention,
// workloads and report, apart from any server.
#include <gtest/gtest.h>

#include <cmath>
#include <sstream>

#include "nlohmann/json.hpp"
#include "tools/loadgen/arrivals.h"
#include "tools/loadgen/config.h"
#include "tools/loadgen/report.h"
#include "tools/loadgen/request_record.h"
#include "tools/loadgen/stats.h"
#include "tools/loadgen/workload.h"

namespace switchyard::loadgen {
namespace {

TEST(PercentileTest, InterpolatesLinearlyBetweenRanks) {
  const std::vector<double> v = {1, 2, 3, 4};  // numpy.percentile(v, q)
  EXPECT_DOUBLE_EQ(Percentile(v, 0), 1);
  EXPECT_DOUBLE_EQ(Percentile(v, 50), 2.5);
  EXPECT_DOUBLE_EQ(Percentile(v, 90), 3.7);
  EXPECT_DOUBLE_EQ(Percentile(v, 99), 3.97);
  EXPECT_DOUBLE_EQ(Percentile(v, 100), 4);
  EXPECT_DOUBLE_EQ(Percentile({7}, 99), 7);
  EXPECT_DOUBLE_EQ(Percentile({}, 50), 0);
}

TEST(SummarizeTest, SortsThenSummarises) {
  std::vector<double> v;
  for (int i = 100; i >= 1; --i) v.push_back(i);
  const Summary s = Summarize(v);
  EXPECT_EQ(s.count, 100);
  EXPECT_DOUBLE_EQ(s.mean, 50.5);
  EXPECT_DOUBLE_EQ(s.p50, 50.5);
  EXPECT_DOUBLE_EQ(s.p90, 90.1);
  EXPECT_DOUBLE_EQ(s.p99, 99.01);
  EXPECT_DOUBLE_EQ(s.max, 100);
  EXPECT_EQ(Summarize({}).count, 0);
}

TEST(PoissonArrivalsTest, StartsAtZeroWithExponentialGapsOfMeanOneOverRate) {
  PoissonArrivals arrivals(/*rate=*/50, /*seed=*/7);
  EXPECT_EQ(arrivals.Next(), 0);
  constexpr int kGaps = 20000;
  std::vector<double> gaps;
  double previous = 0;
  for (int i = 0; i < kGaps; ++i) {
    const double t = arrivals.Next();
    ASSERT_GE(t, previous);
    gaps.push_back(t - previous);
    previous = t;
  }
  const Summary s = Summarize(gaps);
  EXPECT_NEAR(s.mean, 1.0 / 50, 0.02 / 50);                 // mean 1/rate
  EXPECT_NEAR(s.p50, std::log(2.0) / 50, 0.03 / 50);        // median ln 2 / rate
  EXPECT_NEAR(s.p90, std::log(10.0) / 50, 0.1 / 50);        // 90th -ln(0.1) / rate
}

TEST(PoissonArrivalsTest, SameSeedSameTimes) {
  PoissonArrivals a(3, 11), b(3, 11), c(3, 12);
  std::vector<double> ta, tb, tc;
  for (int i = 0; i < 10; ++i) {
    ta.push_back(a.Next());
    tb.push_back(b.Next());
    tc.push_back(c.Next());
  }
  EXPECT_EQ(ta, tb);
  EXPECT_NE(ta, tc);
}

TEST(ComputeMetricsTest, AChunkOfNTokensGivesOneGapThenNMinusOneZeros) {
  RequestRecord r;
  r.start = 1.0;
  r.chunks = {{1.1, 1}, {1.15, 0}, {1.3, 3}, {1.4, 1}};  // a text-only chunk carries no token
  r.end = 1.5;
  const RequestMetrics m = ComputeMetrics(r);
  EXPECT_EQ(m.output_tokens, 5);
  EXPECT_NEAR(m.ttft, 0.1, 1e-12);
  EXPECT_NEAR(m.e2e, 0.5, 1e-12);
  ASSERT_EQ(m.itl.size(), 4u);
  EXPECT_NEAR(m.itl[0], 0.2, 1e-12);
  EXPECT_EQ(m.itl[1], 0);
  EXPECT_EQ(m.itl[2], 0);
  EXPECT_NEAR(m.itl[3], 0.1, 1e-12);
  EXPECT_NEAR(m.tpot, 0.3 / 4, 1e-12);  // first to last token over the gaps
}

TEST(ComputeMetricsTest, FirstChunkWithSeveralTokens) {
  RequestRecord r;
  r.chunks = {{0.2, 2}};
  r.end = 0.25;
  const RequestMetrics m = ComputeMetrics(r);
  EXPECT_EQ(m.output_tokens, 2);
  EXPECT_NEAR(m.ttft, 0.2, 1e-12);
  EXPECT_EQ(m.itl, std::vector<double>{0.0});
  EXPECT_EQ(m.tpot, 0);
}

TEST(WorkloadTest, RandomPromptsAreSeededPerIndexAndInTheVocabulary) {
  const Workload w = Workload::Random(/*length=*/64, /*vocab_size=*/100, /*seed=*/5);
  const Prompt p0 = w.At(0);
  ASSERT_EQ(p0.ids.size(), 64u);
  for (int32_t id : p0.ids) {
    EXPECT_GE(id, 0);
    EXPECT_LT(id, 100);
  }
  EXPECT_EQ(w.At(0).ids, p0.ids);
  EXPECT_NE(w.At(1).ids, p0.ids);
  EXPECT_EQ(Workload::Random(64, 100, 5).At(1).ids, w.At(1).ids);
  EXPECT_NE(Workload::Random(64, 100, 6).At(0).ids, p0.ids);
}

TEST(WorkloadTest, JsonlLinesCycle) {
  std::istringstream in("{\"prompt_ids\":[1,2,3],\"max_tokens\":4}\n\n{\"prompt\":\"hello\"}\n");
  absl::StatusOr<Workload> w = Workload::FromJsonl(in);
  ASSERT_TRUE(w.ok()) << w.status();
  EXPECT_EQ(w->At(0).ids, (std::vector<int32_t>{1, 2, 3}));
  EXPECT_EQ(w->At(1).text, "hello");
  EXPECT_EQ(w->At(2).ids, (std::vector<int32_t>{1, 2, 3}));
}

TEST(WorkloadTest, BadJsonlNamesTheLine) {
  std::istringstream in("{\"prompt_ids\":[1]}\n{\"prompt_ids\":\"x\"}\n");
  absl::StatusOr<Workload> w = Workload::FromJsonl(in);
  ASSERT_FALSE(w.ok());
  EXPECT_NE(w.status().message().find("line 2"), absl::string_view::npos) << w.status();
  std::istringstream both("{\"prompt_ids\":[1],\"prompt\":\"a\"}\n");
  EXPECT_FALSE(Workload::FromJsonl(both).ok());
  std::istringstream empty("\n");
  EXPECT_FALSE(Workload::FromJsonl(empty).ok());
}

TEST(WorkloadTest, SavedPromptsAreBatchGenerateInputThatReadsBack) {
  const Workload w = Workload::Random(4, 50, 1);
  std::ostringstream out;
  WritePromptsJsonl(w, 2, Sampling{.max_tokens = 8, .temperature = 0, .ignore_eos = true}, out);
  std::istringstream lines(out.str());
  std::string line;
  ASSERT_TRUE(std::getline(lines, line));
  const nlohmann::json j = nlohmann::json::parse(line);
  EXPECT_EQ(j["prompt_ids"].get<std::vector<int32_t>>(), w.At(0).ids);
  EXPECT_EQ(j["max_tokens"], 8);
  EXPECT_EQ(j["temperature"], 0.0);
  EXPECT_EQ(j["ignore_eos"], true);
  std::istringstream in(out.str());
  absl::StatusOr<Workload> back = Workload::FromJsonl(in);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->At(1).ids, w.At(1).ids);
}

LoadgenConfig ValidConfig() {
  LoadgenConfig c;
  c.target = "127.0.0.1:1";
  c.num_requests = 10;
  c.prompt_tokens = 8;
  c.sampling.max_tokens = 4;
  return c;
}

TEST(LoadgenConfigTest, Validate) {
  EXPECT_TRUE(ValidConfig().Validate().ok());
  LoadgenConfig c = ValidConfig();
  c.concurrency = 0;
  EXPECT_FALSE(c.Validate().ok());
  c = ValidConfig();
  c.mode = Mode::kOpen;
  EXPECT_FALSE(c.Validate().ok());  // no rate
  c.rate = 2.5;
  EXPECT_TRUE(c.Validate().ok());
  c = ValidConfig();
  c.num_requests = 0;
  EXPECT_FALSE(c.Validate().ok());  // would never stop
  c.duration = absl::Seconds(1);
  EXPECT_TRUE(c.Validate().ok());
  c.save_prompts = "/tmp/x";
  EXPECT_FALSE(c.Validate().ok());  // how many to save?
  c = ValidConfig();
  c.sampling.max_tokens = 0;
  EXPECT_FALSE(c.Validate().ok());
  c = ValidConfig();
  c.prompt_tokens = 0;
  EXPECT_FALSE(c.Validate().ok());
  c.prompts_file = "prompts.jsonl";
  EXPECT_TRUE(c.Validate().ok());
}

RequestRecord Finished(double start, int tokens, double first, double gap) {
  RequestRecord r;
  r.start = start;
  r.prompt_tokens = 8;
  for (int i = 0; i < tokens; ++i) r.chunks.push_back({start + first + gap * i, 1});
  r.end = start + first + gap * (tokens - 1);
  return r;
}

TEST(ReportTest, CountsThroughputAndFailures) {
  LoadgenConfig config = ValidConfig();
  config.concurrency = 2;
  std::vector<RequestRecord> records = {Finished(0, 4, 0.1, 0.01), Finished(0, 4, 0.3, 0.01)};
  RequestRecord failed;
  failed.status = "UNAVAILABLE";
  failed.chunks = {{0.1, 1}};  // tokens of a failed request do not count
  records.push_back(failed);
  const Report r = BuildReport(config, records, /*duration_s=*/2.0);
  EXPECT_EQ(r.sent, 3);
  EXPECT_EQ(r.completed, 2);
  EXPECT_EQ(r.failed, (std::map<std::string, int64_t>{{"UNAVAILABLE", 1}}));
  EXPECT_EQ(r.input_tokens, 16);
  EXPECT_EQ(r.output_tokens, 8);
  EXPECT_EQ(r.min_output_tokens, 4);
  EXPECT_EQ(r.max_output_tokens, 4);
  EXPECT_DOUBLE_EQ(r.requests_per_s, 1.0);
  EXPECT_DOUBLE_EQ(r.output_tokens_per_s, 4.0);
  EXPECT_EQ(r.ttft_ms.count, 2);
  EXPECT_NEAR(r.ttft_ms.mean, 200, 1e-9);
  EXPECT_EQ(r.itl_ms.count, 6);
  EXPECT_NEAR(r.itl_ms.p50, 10, 1e-9);
  EXPECT_NEAR(r.tpot_ms.mean, 10, 1e-9);
  EXPECT_NEAR(r.e2e_ms.max, 330, 1e-9);

  const nlohmann::json j = nlohmann::json::parse(ReportJson(r));
  EXPECT_EQ(j["mode"], "closed");
  EXPECT_EQ(j["concurrency"], 2);
  EXPECT_EQ(j["completed"], 2);
  EXPECT_EQ(j["failed"]["UNAVAILABLE"], 1);
  EXPECT_EQ(j["output_tokens"], 8);
  EXPECT_DOUBLE_EQ(j["output_tokens_per_s"].get<double>(), 4.0);
  EXPECT_NEAR(j["ttft_ms"]["p50"].get<double>(), 200, 1e-9);

  const std::string table = FormatReport(r);
  EXPECT_NE(table.find("closed loop, concurrency 2"), std::string::npos) << table;
  EXPECT_NE(table.find("1 (UNAVAILABLE: 1)"), std::string::npos) << table;
  EXPECT_NE(table.find("4.0 tokens/s"), std::string::npos) << table;
}

TEST(ReportTest, NoCompletedRequestsGiveNullSummaries) {
  LoadgenConfig config = ValidConfig();
  config.mode = Mode::kOpen;
  config.rate = 4;
  RequestRecord failed;
  failed.status = "DEADLINE_EXCEEDED";
  const Report r = BuildReport(config, {failed}, 1.0);
  const nlohmann::json j = nlohmann::json::parse(ReportJson(r));
  EXPECT_EQ(j["mode"], "open");
  EXPECT_EQ(j["rate"], 4.0);
  EXPECT_TRUE(j["ttft_ms"].is_null());
  EXPECT_TRUE(j["itl_ms"].is_null());
  EXPECT_NE(FormatReport(r).find("Poisson arrivals at 4 requests/s"), std::string::npos);
}

}  // namespace
}  // namespace switchyard::loadgen
