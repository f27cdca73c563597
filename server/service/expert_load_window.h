// Tokens routed to each expert over a recent window of time (a minute by
// default), beside the since-start counters: a load shift shows up here
// within the window instead of being averaged into hours of history.
// Time is cut into kSlices slices of window/kSlices; the sum covers the
// slices that overlap the last `window`, so it spans between
// window - window/kSlices and window. Not thread-safe.
#pragma once

#include <cstdint>
#include <limits>
#include <vector>

#include "absl/time/time.h"
#include "absl/types/span.h"

namespace switchyard::server {

class ExpertLoadWindow {
 public:
  static constexpr int kSlices = 60;

  // `size` counters (layers x experts); `window` > 0.
  ExpertLoadWindow(size_t size, absl::Duration window);

  // Adds one step's counts (`size` of them) at time `now`.
  void Add(absl::Time now, absl::Span<const int32_t> counts);
  // The counts of the window that ends at `now`.
  absl::Span<const int64_t> Sum(absl::Time now);
  absl::Duration window() const { return slice_ * kSlices; }

 private:
  // Drops the slices that left the window by `now`.
  void Advance(absl::Time now);

  size_t size_;
  absl::Duration slice_;
  std::vector<int64_t> slices_;  // [kSlices, size]: a ring indexed by slice number % kSlices
  std::vector<int64_t> sum_;     // [size]: the sum of the ring
  int64_t newest_ = std::numeric_limits<int64_t>::min();  // slice number of the newest slice
};

}  // namespace switchyard::server
