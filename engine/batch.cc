#include "engine/batch.h"

namespace switchyard::engine {

int32_t Batch::num_logit_rows() const {
  int32_t rows = 0;
  for (const SequenceSlice& s : sequences) {
    if (s.logits == LogitsMode::kLast || s.logits == LogitsMode::kSample) rows += 1;
    if (s.logits == LogitsMode::kAll) rows += s.num_tokens;
  }
  return rows;
}

std::vector<int32_t> Batch::logit_token_rows() const {
  std::vector<int32_t> rows;
  int32_t first = 0;
  for (const SequenceSlice& s : sequences) {
    if (s.logits == LogitsMode::kLast || s.logits == LogitsMode::kSample) rows.push_back(first + s.num_tokens - 1);
    if (s.logits == LogitsMode::kAll) {
      for (int32_t i = 0; i < s.num_tokens; ++i) rows.push_back(first + i);
    }
    first += s.num_tokens;
  }
  return rows;
}

}  // namespace switchyard::engine
