// One request as the scheduler sees it: its tokens, how many of them are in
// the KV cache, its blocks, and what can end it early.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/time/time.h"
#include "engine/finish_reason.h"
#include "scheduler/prefix_chain.h"

namespace switchyard::scheduler {

using RequestId = int64_t;

// Why a request ended; engine/finish_reason.h documents the values.
using engine::FinishReason;
using engine::FinishReasonName;

// What Submit takes.
struct SequenceRequest {
  RequestId id = 0;
  std::vector<int32_t> prompt_ids;
  int32_t max_tokens = 0;  // >= 1: the request's SamplingParams::max_tokens
  absl::Time deadline = absl::InfiniteFuture();
  // Requests share cached prefix blocks only with requests of the same salt
  // (vLLM's cache_salt): tenants who must not share give their own.
  std::string cache_salt = {};
};

struct Sequence {
  RequestId id = 0;
  std::vector<int32_t> tokens;  // the prompt, then every generated token
  int32_t num_prompt_tokens = 0;
  int32_t max_tokens = 0;
  // Leading tokens whose K/V are in the cache. The last generated token never
  // is until the next step feeds it; a preempted sequence restarts from 0 and
  // recomputes prompt and generated tokens alike.
  int32_t num_computed = 0;
  std::vector<int32_t> block_table;  // covers at least [0, num_computed)
  std::string cache_salt;            // SequenceRequest::cache_salt
  // Prompt tokens whose KV the prefix cache supplied at the last admission.
  int32_t num_cached_prompt_tokens = 0;
  // How far its full blocks are in the prefix cache (block_manager.h).
  PrefixChain prefix_chain;
  absl::Time deadline = absl::InfiniteFuture();
  bool cancelled = false;
  bool finished = false;  // set by Scheduler::Update, removed in the same call

  int32_t num_tokens() const { return static_cast<int32_t>(tokens.size()); }
  int32_t num_generated() const { return num_tokens() - num_prompt_tokens; }
  int32_t num_uncomputed() const { return num_tokens() - num_computed; }
  // One token left to feed: the steady state that decode priority protects.
  bool is_decode() const { return num_uncomputed() == 1; }
};

}  // namespace switchyard::scheduler
