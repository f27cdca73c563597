#include "server/service/expert_load_window.h"

#include <algorithm>

namespace switchyard::server {

ExpertLoadWindow::ExpertLoadWindow(size_t size, absl::Duration window)
    : size_(size), slice_(window / kSlices), slices_(size * kSlices, 0), sum_(size, 0) {}

void ExpertLoadWindow::Advance(absl::Time now) {
  absl::Duration remainder;  // Debian's Abseil writes it unconditionally
  const int64_t slice = absl::IDivDuration(now - absl::UnixEpoch(), slice_, &remainder);
  if (newest_ == std::numeric_limits<int64_t>::min()) {
    newest_ = slice;
    return;
  }
  // Slices newest_+1 .. slice start afresh; their ring places held the
  // oldest slices, which leave the window. A clock that steps back keeps
  // adding to the newest slice.
  const int64_t fresh = std::min<int64_t>(slice - newest_, kSlices);
  for (int64_t i = 1; i <= fresh; ++i) {
    int64_t* ring = &slices_[static_cast<size_t>((newest_ + i) % kSlices) * size_];
    for (size_t j = 0; j < size_; ++j) sum_[j] -= ring[j];
    std::fill(ring, ring + size_, 0);
  }
  newest_ = std::max(newest_, slice);
}

void ExpertLoadWindow::Add(absl::Time now, absl::Span<const int32_t> counts) {
  Advance(now);
  int64_t* ring = &slices_[static_cast<size_t>(newest_ % kSlices) * size_];
  for (size_t j = 0; j < size_ && j < counts.size(); ++j) {
    ring[j] += counts[j];
    sum_[j] += counts[j];
  }
}

absl::Span<const int64_t> ExpertLoadWindow::Sum(absl::Time now) {
  Advance(now);
  return sum_;
}

}  // namespace switchyard::server
