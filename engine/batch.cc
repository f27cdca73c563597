#include "engine/batch.h"

namespace switchyard::engine {

int32_t Batch::num_logit_rows() const {
  int32_t rows = 0;
  for (const SequenceSlice& s : sequences) {
    if (s.logits == LogitsMode::kLast) rows += 1;
    if (s.logits == LogitsMode::kAll) rows += s.num_tokens;
  }
  return rows;
}

}  // namespace switchyard::engine
