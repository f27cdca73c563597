// CudaBackendConfig: the capacities the CUDA backend sizes its device
// workspace for at start-up, and how decode steps become CUDA graphs.
#pragma once

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "engine/backend.h"

namespace switchyard::engine::cuda {

struct CudaBackendConfig {
  // The workspace holds one step of this many tokens and sequences; a larger
  // batch is INVALID_ARGUMENT. The scheduler's max_num_batched_tokens and
  // max_num_seqs must stay within them.
  int32_t max_num_tokens = 8192;
  int32_t max_num_seqs = 256;
  // Rows of logits computed per LM-head pass. A step that asks for more
  // (LogitsMode::kAll over a long prompt) runs several passes.
  int32_t max_logit_rows = 256;
  // Decode steps (every sequence one token) replay a CUDA graph captured for
  // the smallest of these sizes that holds them, padded; a larger decode
  // step runs eagerly. Strictly increasing, each at most max_logit_rows.
  std::vector<int32_t> decode_graph_sizes = {1, 2, 4, 8, 16, 32, 64, 128, 256};
  bool use_cuda_graphs = true;
  // Device memory kept free for the CUDA context's own needs (graph
  // instantiation, cuBLAS, kernel stacks) when sizing the KV cache.
  int64_t reserve_bytes = int64_t{256} << 20;

  absl::Status Validate() const;

  // The configuration that runs steps of up to `capacity` (the scheduler's
  // budget, as CreateBackend passes it): every sequence of a step may sample
  // a row of logits, and decode graphs are captured for 1, 2, 4, ... and
  // capacity.max_sequences sequences.
  static CudaBackendConfig ForStepCapacity(const StepCapacity& capacity);
};

}  // namespace switchyard::engine::cuda
