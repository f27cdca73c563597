// Summary statistics of a sample of latencies: mean and percentiles.
#pragma once

#include <cstdint>
#include <vector>

namespace switchyard::loadgen {

struct Summary {
  int64_t count = 0;  // 0: the other fields mean nothing
  double mean = 0;
  double p50 = 0;
  double p90 = 0;
  double p99 = 0;
  double max = 0;
};

// The q-th percentile (q in [0, 100]) of sorted `values`, interpolated
// linearly between the two nearest ranks (numpy's default, which vLLM's
// benchmark_serving reports, so that figures compare); 0 when empty.
double Percentile(const std::vector<double>& sorted, double q);

// Takes `values` by value: it sorts them.
Summary Summarize(std::vector<double> values);

}  // namespace switchyard::loadgen
