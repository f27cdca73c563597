// Counts the calls a server is still working on, so that a drain can wait
// for them to end (their last message written, not just their last token
// generated) before the server is shut down.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>

#include "absl/time/time.h"

namespace switchyard::server {

class InFlightCalls {
 public:
  void Enter() {
    std::lock_guard<std::mutex> lock(mu_);
    ++count_;
  }
  void Exit() {
    std::lock_guard<std::mutex> lock(mu_);
    if (--count_ == 0) none_.notify_all();
  }
  // True once no call is in flight; false if `deadline` passed first.
  bool WaitUntilNone(absl::Time deadline) {
    std::unique_lock<std::mutex> lock(mu_);
    return none_.wait_until(lock, absl::ToChronoTime(deadline), [this] { return count_ == 0; });
  }

 private:
  std::mutex mu_;
  std::condition_variable none_;
  int64_t count_ = 0;
};

}  // namespace switchyard::server
