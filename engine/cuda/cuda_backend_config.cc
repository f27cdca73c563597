#include "engine/cuda/cuda_backend_config.h"

#include "absl/strings/str_cat.h"

namespace switchyard::engine::cuda {

absl::Status CudaBackendConfig::Validate() const {
  if (max_num_tokens < 1) return absl::InvalidArgumentError(absl::StrCat("max_num_tokens must be >= 1, got ", max_num_tokens));
  if (max_num_seqs < 1 || max_num_seqs > max_num_tokens) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_num_seqs must be in [1, max_num_tokens = ", max_num_tokens, "], got ", max_num_seqs));
  }
  if (max_logit_rows < 1) return absl::InvalidArgumentError(absl::StrCat("max_logit_rows must be >= 1, got ", max_logit_rows));
  if (reserve_bytes < 0) return absl::InvalidArgumentError(absl::StrCat("reserve_bytes must be >= 0, got ", reserve_bytes));
  int32_t previous = 0;
  for (int32_t size : decode_graph_sizes) {
    if (size <= previous) {
      return absl::InvalidArgumentError(
          absl::StrCat("decode_graph_sizes must be positive and strictly increasing, got ", size, " after ", previous));
    }
    // A graph computes the logits of every padded row in one pass.
    if (size > max_num_seqs || size > max_logit_rows) {
      return absl::InvalidArgumentError(absl::StrCat("decode graph size ", size, " exceeds max_num_seqs (", max_num_seqs,
                                                     ") or max_logit_rows (", max_logit_rows, ")"));
    }
    previous = size;
  }
  return absl::OkStatus();
}

CudaBackendConfig CudaBackendConfig::ForStepCapacity(const StepCapacity& capacity) {
  CudaBackendConfig c;
  c.max_num_tokens = capacity.max_tokens;
  c.max_num_seqs = capacity.max_sequences;
  c.max_logit_rows = capacity.max_sequences;
  c.decode_graph_sizes.clear();
  for (int32_t size = 1; size < capacity.max_sequences; size *= 2) c.decode_graph_sizes.push_back(size);
  c.decode_graph_sizes.push_back(capacity.max_sequences);
  return c;
}

}  // namespace switchyard::engine::cuda
