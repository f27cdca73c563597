#include "server/service/generate_request.h"

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "engine/tokenizer/stop_strings.h"

namespace switchyard::server {
namespace {

absl::StatusOr<std::vector<int32_t>> PromptIds(const v1::GenerateRequest& request,
                                               const engine::Tokenizer& tokenizer, int32_t vocab) {
  switch (request.prompt_case()) {
    case v1::GenerateRequest::kText:
      if (request.text().empty()) return absl::InvalidArgumentError("text is empty; give a prompt");
      return tokenizer.Encode(request.text());
    case v1::GenerateRequest::kTokenIds: {
      const auto& ids = request.token_ids().ids();
      if (ids.empty()) return absl::InvalidArgumentError("token_ids.ids is empty; give a prompt");
      for (int i = 0; i < ids.size(); ++i) {
        if (ids[i] < 0 || ids[i] >= vocab) {
          return absl::InvalidArgumentError(
              absl::StrCat("token_ids.ids[", i, "] is ", ids[i], "; must be in [0, ", vocab, ")"));
        }
      }
      return std::vector<int32_t>(ids.begin(), ids.end());
    }
    case v1::GenerateRequest::PROMPT_NOT_SET:
      break;
  }
  return absl::InvalidArgumentError("prompt is not set; give text or token_ids");
}

engine::SamplingParams Sampling(const v1::GenerateRequest& request) {
  engine::SamplingParams p;
  const v1::SamplingOptions& s = request.sampling();
  if (s.has_temperature()) p.temperature = s.temperature();
  if (s.has_top_k()) p.top_k = s.top_k();
  if (s.has_top_p()) p.top_p = s.top_p();
  if (s.has_min_p()) p.min_p = s.min_p();
  if (s.has_repetition_penalty()) p.repetition_penalty = s.repetition_penalty();
  if (s.has_presence_penalty()) p.presence_penalty = s.presence_penalty();
  if (s.has_frequency_penalty()) p.frequency_penalty = s.frequency_penalty();
  if (s.has_seed()) p.seed = s.seed();
  const v1::StoppingOptions& t = request.stopping();
  if (t.has_max_tokens()) p.max_tokens = t.max_tokens();
  p.stop_token_ids.assign(t.stop_token_ids().begin(), t.stop_token_ids().end());
  p.ignore_eos = t.ignore_eos();
  p.logprobs = request.logprobs();
  return p;
}

}  // namespace

absl::StatusOr<GenerationInput> ParseGenerateRequest(const v1::GenerateRequest& request,
                                                     const engine::Tokenizer& tokenizer,
                                                     const engine::ModelConfig& model) {
  GenerationInput in;
  ASSIGN_OR_RETURN(in.prompt_ids, PromptIds(request, tokenizer, model.vocab_size));
  in.sampling = Sampling(request);
  RETURN_IF_ERROR(in.sampling.Validate(model.vocab_size));
  RETURN_IF_ERROR(engine::CheckFitsContext(static_cast<int64_t>(in.prompt_ids.size()), in.sampling.max_tokens,
                                            model.max_position_embeddings));
  in.stop.assign(request.stopping().stop().begin(), request.stopping().stop().end());
  in.return_routing = request.return_routing();
  RETURN_IF_ERROR(engine::StopStrings::Validate(in.stop));
  // The salt is not quoted back: a tenant's salt is its secret, and messages
  // end up in logs.
  if (request.cache_salt().size() > kMaxCacheSaltBytes) {
    return absl::InvalidArgumentError(absl::StrCat("cache_salt is ", request.cache_salt().size(),
                                                   " bytes; must be at most ", kMaxCacheSaltBytes));
  }
  in.cache_salt = request.cache_salt();
  return in;
}

}  // namespace switchyard::server
