// The benchmark's result: counts, throughput and latency percentiles, as a
// table for people or one JSON object for scripts.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "tools/loadgen/config.h"
#include "tools/loadgen/request_record.h"
#include "tools/loadgen/stats.h"

namespace switchyard::loadgen {

struct Report {
  Mode mode = Mode::kClosed;
  int32_t concurrency = 0;  // closed loop
  double rate = 0;          // open loop, requests/s offered
  int64_t sent = 0;
  int64_t completed = 0;
  std::map<std::string, int64_t> failed;  // by status code name
  double duration_s = 0;                  // first request sent to last status received
  int64_t input_tokens = 0;               // of completed requests, as the server counted them
  int64_t output_tokens = 0;              // of completed requests
  int64_t min_output_tokens = 0;          // per completed request
  int64_t max_output_tokens = 0;
  double requests_per_s = 0;       // completed
  double output_tokens_per_s = 0;  // of completed requests
  // Latencies of completed requests, in milliseconds; ITL pools every
  // request's gaps (see RequestMetrics).
  Summary ttft_ms;
  Summary tpot_ms;
  Summary itl_ms;
  Summary e2e_ms;
};

Report BuildReport(const LoadgenConfig& config, const std::vector<RequestRecord>& records, double duration_s);

// A readable table, several lines.
std::string FormatReport(const Report& report);

// One JSON object on one line; a summary of no values is null.
std::string ReportJson(const Report& report);

}  // namespace switchyard::loadgen
