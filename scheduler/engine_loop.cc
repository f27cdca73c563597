#include "scheduler/engine_loop.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace switchyard::scheduler {

absl::StatusOr<std::unique_ptr<EngineLoop>> EngineLoop::Create(engine::Backend& backend, const SchedulerConfig& config,
                                                               Clock clock) {
  const engine::StepCapacity capacity = backend.step_capacity();
  if (config.max_num_batched_tokens > capacity.max_tokens) {
    return absl::InvalidArgumentError(absl::StrCat(
        "max_num_batched_tokens is ", config.max_num_batched_tokens, " but the ", std::string(backend.name()),
        " backend runs at most ", capacity.max_tokens, " tokens in one step"));
  }
  if (config.max_num_seqs > capacity.max_sequences) {
    return absl::InvalidArgumentError(absl::StrCat("max_num_seqs is ", config.max_num_seqs, " but the ",
                                                   std::string(backend.name()), " backend runs at most ",
                                                   capacity.max_sequences,
                                                   " sequences in one step"));
  }
  ASSIGN_OR_RETURN(std::unique_ptr<Scheduler> scheduler,
                   Scheduler::Create(config, {backend.num_kv_blocks(), backend.kv_block_size()},
                                     backend.config().max_position_embeddings, std::move(clock)));
  return std::unique_ptr<EngineLoop>(new EngineLoop(backend, std::move(scheduler)));
}

EngineLoop::EngineLoop(engine::Backend& backend, std::unique_ptr<Scheduler> scheduler)
    : backend_(backend), scheduler_(std::move(scheduler)) {
  const auto& c = backend.config();
  const size_t counts = static_cast<size_t>(c.num_layers) * c.num_experts;
  last_expert_tokens_.assign(counts, 0);
  total_expert_tokens_.assign(counts, 0);
}

absl::Status EngineLoop::Submit(EngineRequest request) {
  const int32_t vocab = backend_.config().vocab_size;
  RETURN_IF_ERROR(request.sampling.Validate(vocab));
  // A bad token would fail the whole step's Forward, every request with it.
  for (int32_t t : request.prompt_ids) {
    if (t < 0 || t >= vocab) {
      return absl::InvalidArgumentError(absl::StrCat("prompt token ", t, " is outside the vocabulary [0, ", vocab, ")"));
    }
  }
  // The sampling state reads the prompt now (for the repetition penalty);
  // the scheduler keeps it from here on.
  auto live = std::make_unique<Live>(std::move(request));
  EngineRequest& r = live->request;
  RETURN_IF_ERROR(
      scheduler_->Submit({r.id, std::move(r.prompt_ids), r.sampling.max_tokens, r.deadline, r.cache_salt}));
  const RequestId id = r.id;
  live_.emplace(id, std::move(live));
  return absl::OkStatus();
}

// The one stop rule, for every request however it is driven (GenerateAlone,
// the batch command, the server).
std::optional<FinishReason> EngineLoop::StopReason(const Live& live, int32_t token) const {
  const engine::SamplingParams& p = live.request.sampling;
  if (std::find(p.stop_token_ids.begin(), p.stop_token_ids.end(), token) != p.stop_token_ids.end()) {
    return FinishReason::kStopToken;
  }
  const auto& eos = backend_.config().eos_token_ids;
  if (!p.ignore_eos && std::find(eos.begin(), eos.end(), token) != eos.end()) return FinishReason::kEos;
  if (live.request.stop_strings && live.request.stop_strings(live.generated)) return FinishReason::kStopString;
  if (static_cast<int32_t>(live.generated.size()) >= p.max_tokens) return FinishReason::kLength;
  return std::nullopt;
}

absl::StatusOr<bool> EngineLoop::Step() {
  const StepPlan plan = scheduler_->Step();
  // Callbacks run last, once the scheduler is consistent again, because they
  // may call back into Submit or Cancel; ended requests stay alive until then.
  std::vector<std::unique_ptr<Live>> ended;
  std::vector<std::pair<const Live*, RequestOutput>> outputs;
  auto end = [&](decltype(live_)::iterator it) {
    ended.push_back(std::move(it->second));
    live_.erase(it);
    return ended.back().get();
  };
  auto deliver = [&] {
    for (const auto& [live, output] : outputs) {
      if (live->request.on_output) live->request.on_output(output);
    }
  };
  for (const AbortedRequest& a : plan.aborted) {
    outputs.push_back({end(live_.find(a.id)), {a.id, std::nullopt, a.reason, {}, 0, {}}});
  }
  if (!plan.empty()) {
    BuildBatch(plan, batch_);
    // Each sampling row carries its request's parameters and state.
    batch_.return_routing = false;
    for (size_t i = 0; i < plan.chunks.size(); ++i) {
      if (!plan.chunks[i].samples) continue;
      const Live& live = *live_.at(plan.chunks[i].seq->id);
      batch_.sequences[i].sampling = live.sampling.Row();
      batch_.return_routing |= live.request.return_routing;
    }
    absl::StatusOr<engine::ForwardResult> forward = backend_.Forward(batch_);
    if (!forward.ok()) {
      if (engine::IsUnrecoverable(forward.status())) return forward.status();
      // Only this step's requests fail; the others and the loop go on.
      ++num_failed_steps_;
      last_step_error_ = forward.status();
      const absl::Status error =
          absl::InternalError(absl::StrCat("the engine step failed (", plan.chunks.size(), " requests, ",
                                           plan.num_tokens, " tokens): ",
                                           absl::StatusCodeToString(forward.status().code()), ": ",
                                           forward.status().message()));
      for (const RequestId id : scheduler_->FailStep(plan)) {
        outputs.push_back({end(live_.find(id)), {id, std::nullopt, std::nullopt, {}, 0, error}});
      }
      deliver();
      return true;
    }
    engine::ForwardResult& result = *forward;
    ++num_steps_;
    last_expert_tokens_ = std::move(result.expert_tokens);
    for (size_t i = 0; i < last_expert_tokens_.size(); ++i) total_expert_tokens_[i] += last_expert_tokens_[i];

    std::vector<SampledToken> sampled;
    sampled.reserve(plan.chunks.size());
    size_t row = 0;
    for (const ScheduledChunk& chunk : plan.chunks) {
      if (!chunk.samples) continue;
      auto it = live_.find(chunk.seq->id);
      Live& live = *it->second;
      const size_t r = row++;
      engine::SampledRow& out = result.samples[r];
      if (const std::optional<engine::NonFiniteLogit> bad = out.non_finite) {
        // This request alone ends (its blocks are freed by Update); the
        // others in the step go on.
        ++num_failed_requests_;
        sampled.push_back({0, /*finished=*/true});
        outputs.push_back(
            {end(it),
             {chunk.seq->id, std::nullopt, std::nullopt, {}, 0,
              absl::InternalError(absl::StrCat("the model produced a non-finite logit (", bad->value,
                                               " for token id ", bad->token, ") after ", live.generated.size(),
                                               " generated tokens; the request was ended"))}});
        continue;
      }
      engine::SampleResult s = std::move(out.sample);
      live.sampling.Accept(s.token);
      live.generated.push_back(s.token);
      ++num_generated_tokens_;
      const std::optional<FinishReason> finish = StopReason(live, s.token);
      sampled.push_back({s.token, finish.has_value()});
      RequestOutput output{chunk.seq->id, std::move(s), finish, {}, chunk.seq->num_cached_prompt_tokens, {}};
      if (live.request.return_routing) {
        const size_t n = static_cast<size_t>(backend_.config().num_layers) * backend_.config().top_k;
        output.routed_experts.assign(result.routed_experts.begin() + r * n, result.routed_experts.begin() + (r + 1) * n);
      }
      outputs.push_back({finish ? end(it) : &live, std::move(output)});
    }
    scheduler_->Update(plan, sampled);
  }
  deliver();
  return !plan.empty() || !plan.aborted.empty();
}

absl::Status EngineLoop::RunUntilIdle() {
  while (!idle()) {
    const int64_t failed = num_failed_steps_;
    ASSIGN_OR_RETURN(bool worked, Step());
    if (num_failed_steps_ != failed) return last_step_error_;
    // Work left but none planned would be a scheduler bug (Submit admits only
    // requests that fit an empty cache); fail instead of spinning.
    if (!worked) return absl::InternalError("the scheduler has live requests but planned no work");
  }
  return absl::OkStatus();
}

}  // namespace switchyard::scheduler
