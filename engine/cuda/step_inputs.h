// One step's batch as the flat int32 arrays the kernels read: per token its
// id, position, attended length, KV slot and sequence; per sequence its block
// table at a fixed stride; per logits row the token it reads.
//
// For a decode graph the step is padded to a bucket size: padding tokens
// attend nothing (context 0), write no KV (slot -1), are left out of routing
// (the kernels see num_real_tokens), and their logits rows are computed but
// never read.
#pragma once

#include <cstdint>
#include <vector>

#include "engine/batch.h"

namespace switchyard::engine::cuda {

struct StepInputs {
  int32_t num_tokens = 0;       // T: rows the kernels run, padding included
  int32_t num_real_tokens = 0;  // the batch's own tokens, rows [0, num_real_tokens)
  int32_t num_seqs = 0;         // rows of block_tables
  int32_t num_logit_rows = 0;   // R: logits rows the batch asked for

  std::vector<int32_t> token_ids;     // [T]
  std::vector<int32_t> positions;     // [T] position within its sequence (RoPE)
  std::vector<int32_t> context_lens;  // [T] positions it attends, pos + 1; 0 for padding
  std::vector<int32_t> kv_slots;      // [T] block * block_size + offset of its K/V; -1 for padding
  std::vector<int32_t> token_seqs;    // [T] its sequence, a row of block_tables
  std::vector<int32_t> block_tables;  // [num_seqs, blocks_per_seq]; entries past a sequence's end are 0
  // Token row of each logits row, batch order: R entries, or T for a padded
  // step (the LM head then runs T rows, the first R of which are returned).
  std::vector<int32_t> logit_rows;
};

// `batch` must have passed ValidateBatch with this block size, and no
// sequence may be longer than blocks_per_seq blocks. padded_tokens 0 packs
// the batch as it is; otherwise the batch is decode-only and is padded to
// that many tokens (>= its size).
StepInputs PackStep(const Batch& batch, int32_t block_size, int32_t blocks_per_seq, int32_t padded_tokens);

}  // namespace switchyard::engine::cuda
