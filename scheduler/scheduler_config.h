// The scheduler's policy knobs. The KV cache's shape is not here: it belongs
// to the backend, which the scheduler is given at construction.
#pragma once

#include <cstdint>

#include "absl/status/status.h"

namespace switchyard::scheduler {

struct SchedulerConfig {
  // Tokens one step may run over all sequences (decode tokens plus prefill
  // chunks); bounds step latency, and so the pace of every running request.
  int32_t max_num_batched_tokens = 512;
  // Sequences in the running set (each holds KV blocks); every one of them
  // can decode in every step, so this must not exceed the token budget.
  int32_t max_num_seqs = 64;
  // Requests waiting for admission; Submit answers UNAVAILABLE beyond it so
  // that a server sheds load instead of queueing without bound. Requests
  // that will take a running slot free now at the next step are not counted,
  // so the queue may briefly hold up to max_num_seqs more.
  int32_t max_waiting = 1024;
  // Automatic prefix caching: full KV blocks are kept, content-addressed,
  // after their sequence ends, and a new request reuses the longest cached
  // prefix of its prompt instead of recomputing it (block_manager.h).
  bool enable_prefix_caching = true;

  // INVALID_ARGUMENT naming the first bad field, its value and the rule.
  absl::Status Validate() const;
};

}  // namespace switchyard::scheduler
