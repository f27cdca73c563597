#include "engine/cuda/step_inputs.h"

#include <algorithm>

#include "engine/backend.h"

namespace switchyard::engine::cuda {

StepInputs PackStep(const Batch& batch, int32_t block_size, int32_t blocks_per_seq, int32_t padded_tokens) {
  StepInputs in;
  in.num_real_tokens = static_cast<int32_t>(batch.token_ids.size());
  in.num_tokens = std::max(in.num_real_tokens, padded_tokens);
  in.num_seqs = static_cast<int32_t>(batch.sequences.size());
  const int32_t T = in.num_tokens;

  in.token_ids.assign(T, 0);
  in.positions.assign(T, 0);
  in.context_lens.assign(T, 0);
  in.kv_slots.assign(T, -1);
  in.token_seqs.assign(T, 0);
  in.block_tables.assign(static_cast<size_t>(in.num_seqs) * blocks_per_seq, 0);
  std::copy(batch.token_ids.begin(), batch.token_ids.end(), in.token_ids.begin());

  int32_t t = 0;
  for (int32_t s = 0; s < in.num_seqs; ++s) {
    const SequenceSlice& seq = batch.sequences[s];
    const int32_t end = seq.num_cached + seq.num_tokens;
    const auto used_blocks = static_cast<int32_t>(KvBlocksFor(end, block_size));
    std::copy_n(seq.block_table.begin(), used_blocks, in.block_tables.begin() + static_cast<size_t>(s) * blocks_per_seq);
    for (int32_t pos = seq.num_cached; pos < end; ++pos, ++t) {
      in.positions[t] = pos;
      in.context_lens[t] = pos + 1;
      in.kv_slots[t] = seq.block_table[pos / block_size] * block_size + pos % block_size;
      in.token_seqs[t] = s;
    }
  }

  in.logit_rows = batch.logit_token_rows();
  in.num_logit_rows = static_cast<int32_t>(in.logit_rows.size());
  if (padded_tokens > 0) in.logit_rows.resize(T, 0);
  return in;
}

}  // namespace switchyard::engine::cuda
