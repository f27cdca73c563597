#include "server/service/generation.h"

#include <memory>

#include "engine/tokenizer/stop_strings.h"

namespace switchyard::server {
namespace {

v1::FinishReason ToProto(engine::FinishReason r) {
  switch (r) {
    case engine::FinishReason::kLength:
      return v1::FINISH_REASON_LENGTH;
    case engine::FinishReason::kStopToken:
    case engine::FinishReason::kStopString:
      return v1::FINISH_REASON_STOP;
    case engine::FinishReason::kEos:
      return v1::FINISH_REASON_EOS;
    case engine::FinishReason::kCancelled:
      return v1::FINISH_REASON_CANCELLED;
    case engine::FinishReason::kDeadlineExceeded:
      return v1::FINISH_REASON_DEADLINE_EXCEEDED;
  }
  return v1::FINISH_REASON_UNSPECIFIED;
}

int64_t Micros(absl::Time from, absl::Time to) {
  return to == absl::InfinitePast() ? 0 : absl::ToInt64Microseconds(to - from);
}

}  // namespace

Generation::Generation(const engine::Tokenizer& tokenizer, const GenerationInput& input, absl::Time received,
                       Metrics* metrics)
    : text_(tokenizer, input.stop, input.prompt_ids),
      prompt_tokens_(static_cast<int32_t>(input.prompt_ids.size())),
      logprobs_(input.sampling.logprobs > 0),
      routing_(input.return_routing),
      received_(received),
      metrics_(metrics) {}

bool Generation::Add(const EngineOutput& output, v1::GenerateChunk& chunk) {
  taken_ = output.taken;
  if (!output.error.ok()) {
    error_ = output.error;
    return true;
  }
  if (const auto& token = output.output.token) {
    // Every token carries it; the last is what the request's last admission
    // (after any preemption) found.
    cached_prompt_tokens_ = output.output.cached_prompt_tokens;
    const absl::Time now = absl::Now();
    if (completion_tokens_++ == 0) {
      first_token_ = now;
      if (metrics_ != nullptr) metrics_->ObserveTimeToFirstToken(now - received_);
    } else if (metrics_ != nullptr) {
      metrics_->ObserveInterToken(now - last_token_);
    }
    last_token_ = now;
    chunk.add_token_ids(token->token);
    *chunk.mutable_text() += text_.Add(token->token);
    if (logprobs_) {
      v1::TokenLogprobs* lp = chunk.add_logprobs();
      lp->set_token_id(token->token);
      lp->set_logprob(token->logprob);
      for (const engine::TokenLogprob& t : token->top) {
        v1::TokenLogprob* top = lp->add_top();
        top->set_token_id(t.token);
        top->set_logprob(t.logprob);
      }
    }
    if (routing_) {
      const std::vector<int32_t>& experts = output.output.routed_experts;
      chunk.add_routing()->mutable_experts()->Add(experts.begin(), experts.end());
    }
  }
  if (!output.output.finish) return false;
  finish_ = output.output.finish;
  *chunk.mutable_text() += text_.Finish();
  if (metrics_ != nullptr) {
    if (completion_tokens_ > 0) metrics_->ObserveEndToEnd(last_token_ - received_);
    metrics_->ObserveRequest(taken_ - received_, prompt_tokens_, completion_tokens_);
  }
  return true;
}

absl::Status Generation::status() const {
  if (!error_.ok()) return error_;
  if (finish_ == engine::FinishReason::kCancelled) return absl::CancelledError("the request was cancelled");
  if (finish_ == engine::FinishReason::kDeadlineExceeded) {
    return absl::DeadlineExceededError("the deadline passed before the generation finished");
  }
  return absl::OkStatus();
}

void Generation::FillEnd(v1::GenerationEnd& end) const {
  if (finish_) end.set_finish_reason(ToProto(*finish_));
  end.mutable_usage()->set_prompt_tokens(prompt_tokens_);
  end.mutable_usage()->set_completion_tokens(completion_tokens_);
  end.mutable_usage()->set_cached_prompt_tokens(cached_prompt_tokens_);
  v1::Timings* t = end.mutable_timings();
  t->set_queue_time_us(Micros(received_, taken_));
  t->set_time_to_first_token_us(Micros(received_, first_token_));
  t->set_total_time_us(Micros(received_, last_token_));
}

absl::StatusOr<scheduler::RequestId> StartGeneration(const GenerateEnv& env, const v1::GenerateRequest& request,
                                                     absl::Time deadline,
                                                     const absl::Status& admission,
                                                     std::optional<Generation>& generation, EngineOutputFn on_output) {
  if (!admission.ok()) return admission;
  absl::StatusOr<GenerationInput> input = ParseGenerateRequest(request, env.tokenizer, env.engine.model_config());
  if (!input.ok()) return input.status();
  generation.emplace(env.tokenizer, *input, absl::Now(), env.metrics);
  // Stop strings are matched on the engine thread against the completion
  // text of the generated tokens, the text the call returns.
  scheduler::StopStringMatcher stop_strings;
  if (!input->stop.empty()) {
    auto stops = std::make_shared<engine::StopStrings>(env.tokenizer, std::move(input->stop), input->prompt_ids);
    stop_strings = [stops](absl::Span<const int32_t> generated) { return stops->Matches(generated); };
  }
  EngineSubmission s{std::move(input->prompt_ids), std::move(input->sampling), deadline, std::move(stop_strings),
                     input->return_routing, std::move(on_output), std::move(input->cache_salt)};
  return env.engine.Submit(std::move(s));
}

}  // namespace switchyard::server
