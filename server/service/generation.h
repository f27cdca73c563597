// One generate call's progress, turned into wire messages as the engine's
// outputs arrive. Shared by the unary and the streaming reactor; used on the
// engine thread only (the streaming reactor hands the chunks on under its
// own lock).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "engine/tokenizer/tokenizer.h"
#include "server/service/engine_service.h"
#include "server/service/generate_request.h"
#include "server/service/in_flight_calls.h"
#include "server/service/metrics.h"
#include "server/service/text_stream.h"
#include "switchyard/v1/switchyard.pb.h"

namespace switchyard::server {

// What a generate call's reactor works with; all outlive the call.
struct GenerateEnv {
  EngineService& engine;
  const engine::Tokenizer& tokenizer;
  InFlightCalls& calls;  // entered by the service, left in the reactor's OnDone
  Metrics* metrics;      // null: no metrics
};

class Generation {
 public:
  // For the request `input`, received at `received`; `metrics` (may be
  // null) gets its latencies and sizes.
  Generation(const engine::Tokenizer& tokenizer, const GenerationInput& input, absl::Time received,
             Metrics* metrics);

  // Appends the output's token (ids, text, logprobs, routing) to `chunk`; at
  // the terminal event also the held-back text. Returns whether it was terminal.
  bool Add(const EngineOutput& output, v1::GenerateChunk& chunk);

  // After the terminal event: OK for a normal finish, else the status the
  // call ends with (CANCELLED, DEADLINE_EXCEEDED, or the engine's error).
  absl::Status status() const;
  // After the terminal event: finish reason, usage and timings.
  void FillEnd(v1::GenerationEnd& end) const;

 private:
  TextStream text_;
  int32_t prompt_tokens_;
  bool logprobs_;
  bool routing_;
  absl::Time received_;
  Metrics* metrics_;
  absl::Time taken_ = absl::InfinitePast();
  absl::Time first_token_ = absl::InfinitePast();
  absl::Time last_token_ = absl::InfinitePast();
  int32_t completion_tokens_ = 0;
  int32_t cached_prompt_tokens_ = 0;  // from the last token's output
  std::optional<engine::FinishReason> finish_;
  absl::Status error_;
};

// Validates `request` and submits it to `engine`, first setting up
// `generation` for its outputs. The request's id, or the status the call must
// end with (`admission` if not OK: the service's verdict on the call); then
// `on_output` is never called.
absl::StatusOr<scheduler::RequestId> StartGeneration(const GenerateEnv& env, const v1::GenerateRequest& request,
                                                     absl::Time deadline,
                                                     const absl::Status& admission,
                                                     std::optional<Generation>& generation, EngineOutputFn on_output);

}  // namespace switchyard::server
