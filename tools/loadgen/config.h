// The load generator's settings, filled from the command line in main.cc.
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "tools/loadgen/workload.h"

namespace switchyard::loadgen {

enum class Mode {
  // `concurrency` requests in flight at all times: each one that finishes is
  // replaced at once, so the offered load follows the server's speed.
  kClosed,
  // Requests sent at Poisson arrival times of mean `rate` per second, however
  // many are still in flight.
  kOpen,
};

struct LoadgenConfig {
  std::string target;  // host:port
  std::string model;   // the served model's name; empty = the server's one model
  Mode mode = Mode::kClosed;
  int32_t concurrency = 1;
  double rate = 0;  // requests per second
  // Sending stops after num_requests requests (0 = no limit) or once
  // `duration` has passed (zero = no limit), whichever comes first; the
  // requests in flight then finish and count.
  int64_t num_requests = 0;
  absl::Duration duration = absl::ZeroDuration();
  // Random prompts of this many tokens, unless prompts_file is given.
  int32_t prompt_tokens = 0;
  std::string prompts_file;
  uint64_t seed = 0;  // of the random prompts and of the arrival times
  Sampling sampling;
  // Where to write the requests as `switchyard generate --prompts-file`
  // input (empty = nowhere); needs num_requests.
  std::string save_prompts;

  absl::Status Validate() const;
};

}  // namespace switchyard::loadgen
