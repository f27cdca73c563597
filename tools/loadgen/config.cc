#include "tools/loadgen/config.h"

#include <cmath>

#include "absl/strings/str_cat.h"

namespace switchyard::loadgen {

absl::Status LoadgenConfig::Validate() const {
  if (target.empty()) return absl::InvalidArgumentError("--target is required (host:port)");
  if (mode == Mode::kClosed && concurrency < 1) {
    return absl::InvalidArgumentError(absl::StrCat("--concurrency must be >= 1, got ", concurrency));
  }
  if (mode == Mode::kOpen && !(rate > 0 && std::isfinite(rate))) {
    return absl::InvalidArgumentError(absl::StrCat("--rate must be a positive number of requests/s, got ", rate));
  }
  if (num_requests < 0) return absl::InvalidArgumentError("--num-requests must be >= 0");
  if (duration < absl::ZeroDuration()) return absl::InvalidArgumentError("--duration must be >= 0");
  if (num_requests == 0 && duration == absl::ZeroDuration()) {
    return absl::InvalidArgumentError("give --num-requests or --duration (or both)");
  }
  if (prompts_file.empty() && prompt_tokens < 1) {
    return absl::InvalidArgumentError(absl::StrCat("--prompt-tokens must be >= 1, got ", prompt_tokens));
  }
  if (sampling.max_tokens < 1) {
    return absl::InvalidArgumentError(absl::StrCat("--max-tokens must be >= 1, got ", sampling.max_tokens));
  }
  if (!(sampling.temperature >= 0)) return absl::InvalidArgumentError("--temperature must be >= 0");
  if (!save_prompts.empty() && num_requests == 0) {
    return absl::InvalidArgumentError("--save-prompts needs --num-requests");
  }
  return absl::OkStatus();
}

}  // namespace switchyard::loadgen
