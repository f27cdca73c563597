// The paged KV cache's bookkeeping: which fixed-size blocks are free and which
// sequence holds which. A sequence's block table lives with the sequence (so
// the batch can point at it); the manager grows and releases tables and owns
// the free list. Allocating or freeing a block is O(1).
#pragma once

#include <cstdint>
#include <vector>

#include "engine/backend.h"

namespace switchyard::scheduler {

struct KvCacheShape {
  int32_t num_blocks = 0;
  int32_t block_size = 0;  // tokens per block
};

class BlockManager {
 public:
  explicit BlockManager(KvCacheShape shape);  // both fields must be >= 1

  // Blocks that hold `num_tokens` positions.
  int64_t BlocksFor(int64_t num_tokens) const { return engine::KvBlocksFor(num_tokens, shape_.block_size); }
  // Grows `table` to cover positions [0, num_tokens). All or nothing: false,
  // with `table` unchanged, when the free blocks do not suffice.
  bool Grow(std::vector<int32_t>& table, int64_t num_tokens);
  // Returns every block of `table` to the free list and clears it.
  void Release(std::vector<int32_t>& table);

  bool in_use(int32_t block) const { return in_use_[block]; }
  const KvCacheShape& shape() const { return shape_; }
  int32_t num_blocks() const { return shape_.num_blocks; }
  int32_t num_free() const { return static_cast<int32_t>(free_.size()); }
  int32_t num_used() const { return num_blocks() - num_free(); }
  double usage() const { return static_cast<double>(num_used()) / num_blocks(); }  // in [0, 1]

 private:
  KvCacheShape shape_;
  // A stack: the most recently freed block is reused first, which keeps the
  // working set of a lightly loaded cache small.
  std::vector<int32_t> free_;
  std::vector<bool> in_use_;  // catches a double free or a foreign block id
};

}  // namespace switchyard::scheduler
