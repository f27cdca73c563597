#include "scheduler/scheduler_config.h"

#include "absl/strings/str_cat.h"

namespace switchyard::scheduler {

absl::Status SchedulerConfig::Validate() const {
  if (max_num_batched_tokens < 1) {
    return absl::InvalidArgumentError(absl::StrCat("max_num_batched_tokens is ", max_num_batched_tokens, "; must be >= 1"));
  }
  if (max_num_seqs < 1) {
    return absl::InvalidArgumentError(absl::StrCat("max_num_seqs is ", max_num_seqs, "; must be >= 1"));
  }
  if (max_num_seqs > max_num_batched_tokens) {
    return absl::InvalidArgumentError(absl::StrCat("max_num_seqs (", max_num_seqs,
                                                   ") exceeds max_num_batched_tokens (", max_num_batched_tokens,
                                                   "): every running sequence must be able to decode in one step"));
  }
  if (max_waiting < 1) {
    return absl::InvalidArgumentError(absl::StrCat("max_waiting is ", max_waiting, "; must be >= 1"));
  }
  return absl::OkStatus();
}

}  // namespace switchyard::scheduler
