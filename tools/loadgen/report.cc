#include "tools/loadgen/report.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "nlohmann/json.hpp"

namespace switchyard::loadgen {
namespace {

std::vector<double> Millis(const std::vector<double>& seconds) {
  std::vector<double> ms(seconds.size());
  std::transform(seconds.begin(), seconds.end(), ms.begin(), [](double s) { return s * 1e3; });
  return ms;
}

nlohmann::json SummaryJson(const Summary& s) {
  if (s.count == 0) return nullptr;
  return {{"mean", s.mean}, {"p50", s.p50}, {"p90", s.p90}, {"p99", s.p99}, {"max", s.max}};
}

std::string SummaryRow(const char* name, const Summary& s) {
  if (s.count == 0) return absl::StrFormat("  %-6s %10s\n", name, "-");
  return absl::StrFormat("  %-6s %10.2f %10.2f %10.2f %10.2f %10.2f\n", name, s.mean, s.p50, s.p90, s.p99, s.max);
}

}  // namespace

Report BuildReport(const LoadgenConfig& config, const std::vector<RequestRecord>& records, double duration_s) {
  Report r;
  r.mode = config.mode;
  r.concurrency = config.mode == Mode::kClosed ? config.concurrency : 0;
  r.rate = config.mode == Mode::kOpen ? config.rate : 0;
  r.sent = static_cast<int64_t>(records.size());
  r.duration_s = duration_s;
  std::vector<double> ttft, tpot, itl, e2e;
  for (const RequestRecord& record : records) {
    if (record.status != "OK") {
      ++r.failed[record.status];
      continue;
    }
    const RequestMetrics m = ComputeMetrics(record);
    r.min_output_tokens = r.completed == 0 ? m.output_tokens : std::min(r.min_output_tokens, m.output_tokens);
    r.max_output_tokens = std::max(r.max_output_tokens, m.output_tokens);
    ++r.completed;
    r.input_tokens += record.prompt_tokens;
    r.output_tokens += m.output_tokens;
    if (m.output_tokens > 0) ttft.push_back(m.ttft);
    if (m.output_tokens > 1) tpot.push_back(m.tpot);
    itl.insert(itl.end(), m.itl.begin(), m.itl.end());
    e2e.push_back(m.e2e);
  }
  if (duration_s > 0) {
    r.requests_per_s = static_cast<double>(r.completed) / duration_s;
    r.output_tokens_per_s = static_cast<double>(r.output_tokens) / duration_s;
  }
  r.ttft_ms = Summarize(Millis(ttft));
  r.tpot_ms = Summarize(Millis(tpot));
  r.itl_ms = Summarize(Millis(itl));
  r.e2e_ms = Summarize(Millis(e2e));
  return r;
}

std::string FormatReport(const Report& r) {
  std::string s;
  auto line = [&s](absl::string_view key, const std::string& value) {
    absl::StrAppend(&s, absl::StrFormat("%-26s %s\n", absl::StrCat(key, ":"), value));
  };
  line("mode", r.mode == Mode::kClosed ? absl::StrCat("closed loop, concurrency ", r.concurrency)
                                       : absl::StrFormat("open loop, Poisson arrivals at %g requests/s", r.rate));
  line("requests sent", absl::StrCat(r.sent));
  line("completed", absl::StrCat(r.completed));
  std::vector<std::string> codes;
  for (const auto& [code, n] : r.failed) codes.push_back(absl::StrCat(code, ": ", n));
  std::string failed = absl::StrCat(r.sent - r.completed);
  if (!codes.empty()) absl::StrAppend(&failed, " (", absl::StrJoin(codes, ", "), ")");
  line("failed", failed);
  line("duration", absl::StrFormat("%.3f s", r.duration_s));
  line("input tokens", absl::StrCat(r.input_tokens));
  line("output tokens", absl::StrFormat("%d (%d-%d per request)", r.output_tokens, r.min_output_tokens,
                                        r.max_output_tokens));
  line("request throughput", absl::StrFormat("%.2f requests/s", r.requests_per_s));
  line("output token throughput", absl::StrFormat("%.1f tokens/s", r.output_tokens_per_s));
  absl::StrAppend(&s, absl::StrFormat("\n  %-6s %10s %10s %10s %10s %10s\n", "(ms)", "mean", "p50", "p90", "p99", "max"));
  absl::StrAppend(&s, SummaryRow("TTFT", r.ttft_ms), SummaryRow("TPOT", r.tpot_ms), SummaryRow("ITL", r.itl_ms),
                  SummaryRow("E2E", r.e2e_ms));
  return s;
}

std::string ReportJson(const Report& r) {
  nlohmann::json j;
  j["mode"] = r.mode == Mode::kClosed ? "closed" : "open";
  if (r.mode == Mode::kClosed) j["concurrency"] = r.concurrency;
  else j["rate"] = r.rate;
  j["sent"] = r.sent;
  j["completed"] = r.completed;
  j["failed"] = r.failed;
  j["duration_s"] = r.duration_s;
  j["input_tokens"] = r.input_tokens;
  j["output_tokens"] = r.output_tokens;
  j["min_output_tokens"] = r.min_output_tokens;
  j["max_output_tokens"] = r.max_output_tokens;
  j["requests_per_s"] = r.requests_per_s;
  j["output_tokens_per_s"] = r.output_tokens_per_s;
  j["ttft_ms"] = SummaryJson(r.ttft_ms);
  j["tpot_ms"] = SummaryJson(r.tpot_ms);
  j["itl_ms"] = SummaryJson(r.itl_ms);
  j["e2e_ms"] = SummaryJson(r.e2e_ms);
  return j.dump();
}

}  // namespace switchyard::loadgen
