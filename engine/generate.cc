#include "engine/generate.h"

#include <algorithm>
#include <numeric>

#include "absl/strings/str_cat.h"
#include "engine/status_macros.h"

namespace switchyard::engine {

absl::StatusOr<GenerationResult> GenerateAlone(Backend& backend, absl::Span<const int32_t> prompt,
                                                const SamplingParams& params) {
  const ModelConfig& config = backend.config();
  RETURN_IF_ERROR(params.Validate(config.vocab_size));
  if (prompt.empty()) return absl::InvalidArgumentError("prompt is empty");
  const int64_t total = static_cast<int64_t>(prompt.size()) + params.max_tokens;
  if (total > config.max_position_embeddings) {
    return absl::InvalidArgumentError(absl::StrCat("prompt (", prompt.size(), " tokens) plus max_tokens (",
                                                   params.max_tokens, ") exceeds the context length ",
                                                   config.max_position_embeddings));
  }
  const int64_t blocks_needed = (total + backend.kv_block_size() - 1) / backend.kv_block_size();
  if (blocks_needed > backend.num_kv_blocks()) {
    return absl::ResourceExhaustedError(absl::StrCat("request needs ", blocks_needed, " KV blocks; the cache has ",
                                                     backend.num_kv_blocks()));
  }
  std::vector<int32_t> block_table(blocks_needed);
  std::iota(block_table.begin(), block_table.end(), 0);

  Sampler sampler(params, prompt);
  GenerationResult result;
  Batch batch;
  batch.token_ids.assign(prompt.begin(), prompt.end());
  batch.sequences.push_back({static_cast<int32_t>(prompt.size()), 0, block_table, LogitsMode::kLast});
  for (;;) {
    ASSIGN_OR_RETURN(ForwardResult out, backend.Forward(batch));
    SampleResult s = sampler.Sample(absl::MakeConstSpan(out.logits.data(), config.vocab_size));
    sampler.Accept(s.token);
    const int32_t token = s.token;
    result.tokens.push_back(std::move(s));
    const auto& stops = params.stop_token_ids;
    if (std::find(stops.begin(), stops.end(), token) != stops.end()) {
      result.finish_reason = FinishReason::kStopToken;
      break;
    }
    const auto& eos = config.eos_token_ids;
    if (!params.ignore_eos && std::find(eos.begin(), eos.end(), token) != eos.end()) {
      result.finish_reason = FinishReason::kEos;
      break;
    }
    if (static_cast<int32_t>(result.tokens.size()) >= params.max_tokens) break;
    SequenceSlice& seq = batch.sequences[0];
    seq.num_cached += seq.num_tokens;
    seq.num_tokens = 1;
    batch.token_ids.assign(1, token);
  }
  return result;
}

}  // namespace switchyard::engine
