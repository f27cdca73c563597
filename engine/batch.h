// Batch: what one forward step runs. The tokens of all sequences of the step
// are one flat array; each sequence says how many of them are its own, how
// many of its tokens are already in the paged KV cache, and which cache blocks
// hold its positions. The scheduler builds this; backends only read it.
#pragma once

#include <cstdint>
#include <vector>

#include "absl/types/span.h"

namespace switchyard::engine {

enum class LogitsMode {
  kNone,  // a prefill chunk that is not the last: nothing to sample yet
  kLast,  // the logits of the sequence's last token of this step
  kAll,   // the logits of every token of this step (golden tests, scoring)
};

struct SequenceSlice {
  int32_t num_tokens = 0;   // tokens of this step (prefill chunk, or 1 to decode)
  int32_t num_cached = 0;   // tokens already in the KV cache; positions start here
  // KV blocks covering positions [0, num_cached + num_tokens); position p lives
  // in block block_table[p / block_size] at slot p % block_size. Owned by the
  // caller and valid for the duration of Forward().
  absl::Span<const int32_t> block_table;
  LogitsMode logits = LogitsMode::kLast;
};

struct Batch {
  std::vector<int32_t> token_ids;  // sequences back to back
  std::vector<SequenceSlice> sequences;

  int32_t num_logit_rows() const;
  // The index in token_ids of each logits row's token, in ForwardResult order.
  std::vector<int32_t> logit_token_rows() const;
};

// What a forward step returns.
struct ForwardResult {
  // [num_logit_rows, vocab] row-major: per sequence in batch order, 0, 1 or
  // num_tokens rows according to its LogitsMode.
  std::vector<float> logits;
  int32_t vocab_size = 0;
  // [num_layers, num_experts]: tokens routed to each expert in this step (each
  // token counts once per expert it chose). Dense layers stay zero.
  std::vector<int32_t> expert_tokens;
  // [num_logit_rows, num_layers, top_k]: for the token of each logits row, the
  // experts the router chose in every layer, best first (-1 in dense layers);
  // that is, the experts that computed the token sampled from that row.
  std::vector<int32_t> routed_experts;
};

}  // namespace switchyard::engine
