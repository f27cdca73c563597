// A histogram the engine thread keeps as plain counts; the metrics read a
// copy at scrape time, so observing costs the engine a search and two adds
// and no lock of the metrics library.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

namespace switchyard::server {

struct HistogramCounts {
  std::vector<double> bounds;    // bucket upper bounds, ascending; +Inf is implied
  std::vector<uint64_t> counts;  // per bucket, not cumulative: bounds.size() + 1
  double sum = 0;

  explicit HistogramCounts(std::vector<double> upper_bounds = {})
      : bounds(std::move(upper_bounds)), counts(bounds.size() + 1, 0) {}

  void Observe(double value) {
    // Prometheus buckets are "less than or equal to" their bound.
    ++counts[std::lower_bound(bounds.begin(), bounds.end(), value) - bounds.begin()];
    sum += value;
  }
};

}  // namespace switchyard::server
